/**
 * The API as pages see it, and the data shapes not (yet) in the SDL. Shapes that are in the SDL come from
 * generated.ts (`npm run codegen`); the lot page below is hand-written until the server has `lotPage`.
 */
import type { EventProofBundle } from '../verify';
import type { TypedDocumentString } from './generated';

/** Business roles of an organisation (domain/src/org.rs `Role`, snake_case). */
export type OrgRole =
  | 'core_enterprise'
  | 'supplier'
  | 'funder'
  | 'warehouse_operator'
  | 'logistics'
  | 'tax_authority'
  | 'regulator'
  | 'producer'
  | 'retailer';

/** A user's role inside its organisation (graphql/src/auth.rs `UserRole`). */
export type UserRole = 'admin' | 'operator' | 'viewer';

export interface Session {
  token: string;
  user: { id: string; username: string; orgId: string; role: UserRole };
  organisation: { id: string; name: string; roles: OrgRole[] };
}

export interface Product {
  gtin: string;
  name: string;
  brand: string | null;
}

export interface Lot {
  number: string;
  producedOn: string | null;
  expiresOn: string | null;
}

export interface Origin {
  name: string;
  region: string | null;
}

export interface Recorder {
  orgId: string;
  orgName: string;
}

/** One EPCIS event in the lot's history, with the proof that its hash was anchored on chain. */
export interface TraceStep {
  id: string;
  /** CBV business step, e.g. `commissioning`, `shipping`, `receiving`. */
  bizStep: string;
  /** ISO 8601 event time. */
  eventTime: string;
  location: string | null;
  recordedBy: Recorder;
  /** The anchored event hash (`ni:///sha-256;…`). */
  eventHash: string;
  proof: EventProofBundle | null;
}

export interface Reading {
  timeMs: number;
  value: number;
}

export interface SensorSeries {
  deviceId: string;
  quantity: 'temperature' | 'humidity';
  unit: string;
  min: number;
  max: number;
  readings: Reading[];
}

export interface Certificate {
  id: string;
  name: string;
  issuer: string;
  validUntil: string | null;
}

/** Everything the public consumer page shows for one lot. */
export interface LotPage {
  product: Product;
  lot: Lot;
  origin: Origin | null;
  steps: TraceStep[];
  sensors: SensorSeries[];
  certificates: Certificate[];
}

export interface SubscriptionSink<R> {
  next(data: R): void;
  error(e: unknown): void;
}

/** Stops a subscription. */
export type Subscription = () => void;

export interface ScfApi {
  /** Run a generated query or mutation, as the holder of `token` (anonymous without). */
  request<R, V>(doc: TypedDocumentString<R, V>, variables: V, token?: string): Promise<R>;
  /** Subscribe over graphql-ws; the token goes in `connection_init`. */
  subscribe<R, V>(doc: TypedDocumentString<R, V>, variables: V, token: string | undefined, sink: SubscriptionSink<R>): Subscription;
  login(username: string, password: string): Promise<Session>;
  /** End the session on the server. */
  logout(token: string): Promise<void>;
  /** The public page of a lot; `null` if the lot is unknown. */
  lotPage(gtin: string, lot: string): Promise<LotPage | null>;
}
