export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  return `${date.toLocaleDateString()} ${date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

/** Entropy 0 (use as is) .. 1 (wrong answers) as a colour from green through amber to red. */
export function heat(score: number | null | undefined): string {
  if (score === null || score === undefined) return 'var(--none)';
  const s = Math.max(0, Math.min(1, score));
  const hue = 130 - 130 * Math.min(1, s * 1.4);
  return `hsl(${hue.toFixed(0)} 70% ${(88 - s * 38).toFixed(0)}%)`;
}

export function score(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : value.toFixed(2);
}

export function value(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
