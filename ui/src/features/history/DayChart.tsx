//! Connections per day for the last 14 days, failed ones stacked in red on top.

import type { DayCount } from '../../api';
import { dayLabel } from './format';

const WIDTH = 560;
const HEIGHT = 120;
const LABELS = 16;
const BAR_GAP = 6;

export function DayChart({ days }: { days: DayCount[] }) {
  const max = Math.max(1, ...days.map((d) => d.connections));
  const total = days.reduce((sum, d) => sum + d.connections, 0);
  const failed = days.reduce((sum, d) => sum + d.failed, 0);
  const slot = WIDTH / Math.max(1, days.length);
  const plot = HEIGHT - LABELS;
  return (
    <figure className="chart">
      <svg
        data-testid="history-chart"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        height={HEIGHT}
        role="group"
        aria-label={`Connections per day over the last ${days.length} days: ${total} in all, ${failed} failed`}
      >
        {days.map((d, i) => {
          const ok = d.connections - d.failed;
          const okHeight = (ok / max) * (plot - 4);
          const failedHeight = (d.failed / max) * (plot - 4);
          const x = i * slot + BAR_GAP / 2;
          const w = slot - BAR_GAP;
          const label = `${dayLabel(d.day)}: ${d.connections} connection${d.connections === 1 ? '' : 's'}${d.failed ? `, ${d.failed} failed` : ''}`;
          return (
            <g key={d.day} role="img" aria-label={label}>
              <title>{label}</title>
              <rect x={x} y={0} width={w} height={plot} className="chart__slot" />
              <rect x={x} y={plot - okHeight} width={w} height={okHeight} rx={2} className="chart__ok" />
              {d.failed > 0 && <rect x={x} y={plot - okHeight - failedHeight} width={w} height={failedHeight} rx={2} className="chart__failed" />}
              <text x={x + w / 2} y={HEIGHT - 3} textAnchor="middle" className="chart__label">
                {Number(d.day.slice(8))}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="small muted">
        Connections per day, last {days.length} days · <span className="legend legend--ok" /> ok <span className="legend legend--failed" /> failed
      </figcaption>
    </figure>
  );
}
