import { act, screen } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import { commandError } from '../../test/backend';
import { prompt } from '../../test/fixtures';
import { renderApp } from '../../test/render';

describe('Sign-in prompt', () => {
  test('appears on a prompt event with the headline, the reason and the kind of key', async () => {
    const { backend } = await renderApp();
    expect(screen.queryByTestId('prompt')).not.toBeInTheDocument();

    await act(() => backend.emit({ kind: 'prompt', prompt: prompt() }));

    const dialog = screen.getByRole('dialog', { name: 'Touch your security key for corp' });
    expect(dialog).toHaveAttribute('data-testid', 'prompt');
    expect(screen.getByTestId('prompt-message')).toHaveTextContent('Touch your security key for corp');
    expect(dialog).toHaveTextContent('Connect prod');
    expect(dialog).toHaveTextContent('Security key');
    // Touching the key needs no button.
    expect(screen.queryByTestId('prompt-approve')).not.toBeInTheDocument();
    expect(screen.queryByTestId('prompt-pin')).not.toBeInTheDocument();
  });

  test('a window opened by a sign-in shows the prompt that was already waiting', async () => {
    await renderApp({ get_prompt: () => prompt({ id: 7, reason: 'A client connected to prod while you were signed out' }) });

    expect(await screen.findByTestId('prompt')).toHaveTextContent('A client connected to prod while you were signed out');
  });

  test('Approve answers a software-key prompt with its id', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    await act(() =>
      backend.emit({ kind: 'prompt', prompt: prompt({ id: 12, keyKind: 'soft', stage: 'approve', message: 'Approve the sign-in to corp with the software key' }) }),
    );
    expect(screen.getByTestId('prompt')).toHaveTextContent('Software key (demo)');

    await user.click(screen.getByTestId('prompt-approve'));

    expect(backend.callsTo('answer_prompt')).toEqual([{ id: 12, answer: { kind: 'approve' } }]);
    // It stays, waiting, until Rust closes it.
    expect(screen.getByTestId('prompt-approve')).toBeDisabled();
    await act(() => backend.emit({ kind: 'promptClosed', id: 12 }));
    expect(screen.queryByTestId('prompt')).not.toBeInTheDocument();
  });

  test('a PIN is sent with Continue', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt({ stage: 'pin', message: 'Enter the PIN of your security key for corp' }) }));

    expect(screen.getByTestId('prompt-continue')).toBeDisabled();
    await user.type(screen.getByTestId('prompt-pin'), '4711');
    await user.click(screen.getByTestId('prompt-continue'));

    expect(backend.callsTo('answer_prompt')).toEqual([{ id: 7, answer: { kind: 'pin', pin: '4711' } }]);
  });

  test('a wrong PIN asked again shows an empty field', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt({ stage: 'pin' }) }));
    await user.type(screen.getByTestId('prompt-pin'), '0000{Enter}');
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt({ id: 8, stage: 'pin', message: 'Wrong PIN: 7 tries left' }) }));
    expect(screen.getByTestId('prompt-message')).toHaveTextContent('Wrong PIN');
    expect(screen.getByTestId('prompt-pin')).toHaveValue('');
    expect(screen.getByTestId('prompt-pin')).toBeEnabled();
  });

  test('Cancel answers cancel and hides the prompt', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt() }));

    await user.click(screen.getByTestId('prompt-cancel'));

    expect(backend.callsTo('answer_prompt')).toEqual([{ id: 7, answer: { kind: 'cancel' } }]);
    expect(screen.queryByTestId('prompt')).not.toBeInTheDocument();
  });

  test('promptClosed for another ceremony leaves the prompt up', async () => {
    const { backend } = await renderApp();
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt({ id: 7 }) }));

    await act(() => backend.emit({ kind: 'promptClosed', id: 6 }));
    expect(screen.getByTestId('prompt')).toBeInTheDocument();

    await act(() => backend.emit({ kind: 'promptClosed', id: 7 }));
    expect(screen.queryByTestId('prompt')).not.toBeInTheDocument();
  });

  test('a rejected answer is shown and can be given again', async () => {
    const { backend, user } = await renderApp({
      answer_prompt: () => {
        throw commandError('The sign-in is already over.');
      },
    });
    await act(() => backend.emit({ kind: 'prompt', prompt: prompt({ stage: 'approve', keyKind: 'soft' }) }));
    await user.click(screen.getByTestId('prompt-approve'));
    expect(await screen.findByRole('alert')).toHaveTextContent('already over');
    expect(screen.getByTestId('prompt-approve')).toBeEnabled();
  });

  test('a browser sign-in says where to finish, opens the page again on request, and Cancel ends the wait', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    const url = 'https://login.example.com/authorize?client_id=tapgate';
    await act(() =>
      backend.emit({
        kind: 'prompt',
        prompt: prompt({ id: 21, username: '', stage: 'browser', url, message: 'Finish signing in to corp in your browser' }),
      }),
    );
    const dialog = screen.getByRole('dialog', { name: 'Finish signing in to corp in your browser' });
    expect(dialog).toHaveTextContent('Browser sign-in');
    expect(screen.getByTestId('prompt-url')).toHaveTextContent(url);

    await user.click(screen.getByTestId('prompt-open-again'));
    await user.click(screen.getByTestId('prompt-open-again'));
    await user.click(screen.getByTestId('prompt-cancel'));

    expect(backend.callsTo('answer_prompt')).toEqual([
      { id: 21, answer: { kind: 'openAgain' } },
      { id: 21, answer: { kind: 'openAgain' } },
      { id: 21, answer: { kind: 'cancel' } },
    ]);
    expect(screen.queryByTestId('prompt')).not.toBeInTheDocument();
  });

  test('a device sign-in shows the page, the code and a QR code, and Cancel ends the wait', async () => {
    const { backend, user } = await renderApp({ answer_prompt: () => null });
    await act(() =>
      backend.emit({
        kind: 'prompt',
        prompt: prompt({
          id: 31,
          username: '',
          stage: 'device',
          url: 'https://login.example.com/device',
          userCode: 'BCDF-GHJK',
          qrRows: ['101', '010', '101'],
          message: 'Confirm the sign-in to corp on another device',
        }),
      }),
    );
    expect(screen.getByRole('dialog', { name: 'Confirm the sign-in to corp on another device' })).toHaveTextContent('Sign-in on another device');
    expect(screen.getByTestId('prompt-user-code')).toHaveTextContent('BCDF-GHJK');
    expect(screen.getByTestId('prompt-url')).toHaveTextContent('https://login.example.com/device');
    const qr = screen.getByRole('img', { name: 'QR code of the sign-in page of corp' });
    // Five dark modules, each a unit square of the path.
    expect(qr.querySelector('path')?.getAttribute('d')?.match(/M/g)).toHaveLength(5);

    await user.click(screen.getByTestId('prompt-cancel'));
    expect(backend.callsTo('answer_prompt')).toEqual([{ id: 31, answer: { kind: 'cancel' } }]);
  });
});
