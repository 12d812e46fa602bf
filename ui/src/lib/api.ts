// The typed client of the HTTP API: every type comes from src/lib/schema.d.ts, generated from
// the server's /openapi.json (npm run openapi && npm run types), so page and API cannot drift.
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
type Ok<P extends keyof paths, M extends 'get' | 'post'> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: { content: { 'application/json': infer J } } }
    ? J
    : R extends { 202: { content: { 'application/json': infer J } } }
      ? J
      : never
  : never;

export type Info = Ok<'/api/info', 'get'>;
export type SourceList = Ok<'/api/sources', 'get'>;
export type SourceOverview = Schemas['SourceOverview'];
export type Status = Ok<'/api/sources/{source}/status', 'get'>;
export type TaskStatus = Status['tasks'][number];
export type Entropy = Ok<'/api/sources/{source}/entropy', 'get'>;
export type ColumnDetail = Ok<'/api/sources/{source}/entropy/{table}/{column}', 'get'>;
export type Comparison = Ok<'/api/sources/{source}/entropy/compare', 'get'>;
export type Metrics = Ok<'/api/sources/{source}/metrics', 'get'>;
export type RunList = Ok<'/api/runs', 'get'>;
export type RunRecord = Schemas['RunRecord'];
export type RunStarted = Ok<'/api/runs', 'post'>;
export type RunCreate = Schemas['RunCreate'];
export type ResetCreate = Schemas['ResetCreate'];
export type ResetDone = Ok<'/api/reset', 'post'>;

const TOKEN_KEY = 'dataraum-token';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function token(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(value: string): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(json = false): Record<string, string> {
  const found: Record<string, string> = {};
  if (token()) found.Authorization = `Bearer ${token()}`;
  if (json) found['Content-Type'] = 'application/json';
  return found;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { ...init, headers: { ...headers(init.body !== undefined), ...init.headers } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = ((await response.json()) as Schemas['Problem']).detail;
    } catch {
      /* not a problem document */
    }
    throw new ApiError(detail, response.status);
  }
  return (await response.json()) as T;
}

const part = encodeURIComponent;

export const api = {
  info: () => call<Info>('/api/info'),
  sources: () => call<SourceList>('/api/sources'),
  status: (source: string) => call<Status>(`/api/sources/${part(source)}/status`),
  entropy: (source: string) => call<Entropy>(`/api/sources/${part(source)}/entropy`),
  column: (source: string, table: string, column: string) =>
    call<ColumnDetail>(`/api/sources/${part(source)}/entropy/${part(table)}/${part(column)}`),
  compare: (source: string) => call<Comparison>(`/api/sources/${part(source)}/entropy/compare`),
  metrics: (source: string) => call<Metrics>(`/api/sources/${part(source)}/metrics`),
  runs: () => call<RunList>('/api/runs'),
  startRun: (body: RunCreate) => call<RunStarted>('/api/runs', { method: 'POST', body: JSON.stringify(body) }),
  reset: (body: ResetCreate) => call<ResetDone>('/api/reset', { method: 'POST', body: JSON.stringify(body) }),
};

export interface RunEvent {
  event: string;
  time: string;
  task?: string;
  phase?: string;
  duration_s?: number;
  error?: string;
  tasks?: string[];
}

/** A run's Server-Sent Events, read with fetch so the token can go in a header (EventSource cannot). */
export async function followRun(id: string, onEvent: (event: RunEvent) => void, signal?: AbortSignal): Promise<void> {
  const response = await fetch(`/api/runs/${part(id)}/events`, { headers: headers(), signal });
  if (!response.ok || !response.body) throw new ApiError(`events of run ${id}: ${response.status}`, response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (data) onEvent(JSON.parse(data.slice(6)) as RunEvent);
    }
  }
}
