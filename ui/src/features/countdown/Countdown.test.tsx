import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';

import { Countdown } from './Countdown';
import { countdown, secondsLeft } from './format';

function setVisibility(state: 'visible' | 'hidden') {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('countdown text', () => {
  test('reads like Rust\'s (tray and notifications)', () => {
    expect(countdown(761)).toBe('12:41 left');
    expect(countdown(59)).toBe('0:59 left');
    expect(countdown(3723)).toBe('1:02:03 left');
    expect(countdown(0)).toBe('expired');
    expect(countdown(-5)).toBe('expired');
    expect(secondsLeft(10_000, 9_001)).toBe(1);
    expect(secondsLeft(10_000, 10_000)).toBe(0);
  });
});

describe('<Countdown>', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-27T12:00:00Z'));
  });
  afterEach(() => setVisibility('visible'));

  test('counts down once a second to "expired"', () => {
    render(<Countdown expiresAtMs={Date.now() + 2000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveTextContent('0:02 left');

    act(() => vi.advanceTimersByTime(1000));
    expect(screen.getByTestId('c')).toHaveTextContent('0:01 left');

    act(() => vi.advanceTimersByTime(1000));
    expect(screen.getByTestId('c')).toHaveTextContent('expired');
    // Nothing left to count.
    expect(vi.getTimerCount()).toBe(0);
  });

  test('stops ticking while the window is hidden and catches up when shown', () => {
    render(<Countdown expiresAtMs={Date.now() + 10 * 60_000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveTextContent('10:00 left');

    act(() => setVisibility('hidden'));
    expect(vi.getTimerCount()).toBe(0);
    act(() => vi.advanceTimersByTime(5 * 60_000 + 30_000));
    expect(screen.getByTestId('c')).toHaveTextContent('10:00 left');

    act(() => setVisibility('visible'));
    expect(screen.getByTestId('c')).toHaveTextContent('4:30 left');
    act(() => vi.advanceTimersByTime(1000));
    expect(screen.getByTestId('c')).toHaveTextContent('4:29 left');
  });

  test('amber under five minutes, red in the last minute', () => {
    const { rerender } = render(<Countdown expiresAtMs={Date.now() + 20 * 60_000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveClass('countdown--ok');
    rerender(<Countdown expiresAtMs={Date.now() + 4 * 60_000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveClass('countdown--soon');
    rerender(<Countdown expiresAtMs={Date.now() + 30_000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveClass('countdown--critical');
  });

  test('over an hour shows hours; no token reads "signed out"', () => {
    const { rerender } = render(<Countdown expiresAtMs={Date.now() + 3723_000} testId="c" />);
    expect(screen.getByTestId('c')).toHaveTextContent('1:02:03 left');
    rerender(<Countdown expiresAtMs={null} testId="c" />);
    expect(screen.getByTestId('c')).toHaveTextContent('signed out');
  });
});
