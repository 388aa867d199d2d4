/**
 * A first look at an EPCIS 2.0 JSON-LD document in the browser, so an obviously wrong file is named
 * before it is sent: the server validates every event fully (CBV 2.0) and anchors their hashes.
 */

export const EVENT_TYPES = ['ObjectEvent', 'AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent'] as const;

export interface EventSummary {
  index: number;
  type: string;
  eventTime: string;
  bizStep: string | null;
}

export type ReadResult = { ok: true; events: EventSummary[] } | { ok: false; path: string; reason: string };

/** Largest batch the chain anchors in one transaction (the server splits a document into batches). */
export const EVENTS_PER_TX = 64;

export function readEpcis(text: string): ReadResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, path: 'document', reason: e instanceof Error ? e.message : String(e) };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, path: 'document', reason: 'not a JSON object' };
  const o = doc as Record<string, unknown>;
  let list: unknown[];
  let base: string;
  if (o.type === 'EPCISDocument') {
    const body = o.epcisBody as Record<string, unknown> | undefined;
    if (!body || !Array.isArray(body.eventList)) return { ok: false, path: 'epcisBody.eventList', reason: 'missing' };
    list = body.eventList;
    base = 'epcisBody.eventList';
  } else if (typeof o.type === 'string' && (EVENT_TYPES as readonly string[]).includes(o.type)) {
    list = [o];
    base = 'event';
  } else {
    return { ok: false, path: 'type', reason: `${JSON.stringify(o.type)} is neither EPCISDocument nor an event type` };
  }
  if (list.length === 0) return { ok: false, path: base, reason: 'no events' };
  const events: EventSummary[] = [];
  for (const [i, e] of list.entries()) {
    const p = `${base}[${i}]`;
    if (!e || typeof e !== 'object') return { ok: false, path: p, reason: 'not an object' };
    const ev = e as Record<string, unknown>;
    if (typeof ev.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(ev.type)) return { ok: false, path: `${p}.type`, reason: `${JSON.stringify(ev.type)} is not an EPCIS 2.0 event type` };
    if (typeof ev.eventTime !== 'string' || Number.isNaN(Date.parse(ev.eventTime))) return { ok: false, path: `${p}.eventTime`, reason: 'missing or not a date-time' };
    if (typeof ev.eventTimeZoneOffset !== 'string' || !/^[+-]\d{2}:\d{2}$/.test(ev.eventTimeZoneOffset)) return { ok: false, path: `${p}.eventTimeZoneOffset`, reason: 'missing or not ±hh:mm' };
    events.push({ index: i, type: ev.type, eventTime: ev.eventTime, bizStep: typeof ev.bizStep === 'string' ? ev.bizStep : null });
  }
  return { ok: true, events };
}
