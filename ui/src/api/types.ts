/**
 * The API as pages see it, and names for the generated shapes pages share (generated.ts, `npm run codegen`).
 */
import type { LotPageQuery, ScanSerialMutation, TypedDocumentString } from './generated';

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
  /**
   * `mustChangePassword`: signed in with a one-time password; the server answers nothing but `me`,
   * `logout` and `changePassword` until it is changed (absent in sessions stored before it existed).
   */
  user: { id: string; username: string; orgId: string; role: UserRole; mustChangePassword?: boolean };
  /** Read after sign-in; until a one-time password is changed only the id is known (name = id, no roles). */
  organisation: { id: string; name: string; roles: OrgRole[] };
}

type LotPageData = NonNullable<LotPageQuery['lotPage']>;

/** Everything the public consumer page shows for one lot (generated from the SDL's `lotPage`). */
export type LotPage = LotPageData;
export type Product = LotPageData['product'];
export type Lot = LotPageData['lot'];
export type Origin = NonNullable<LotPageData['origin']>;
/** One EPCIS event in the lot's history, with the proof that its hash was anchored on chain. */
export type TraceStep = LotPageData['steps'][number];
export type Recorder = TraceStep['recordedBy'];
export type SensorSeries = LotPageData['sensors'][number];
export type Reading = SensorSeries['readings'][number];
export type Certificate = LotPageData['certificates'][number];
/** A recall or IoT alert on a lot, shown above everything on its page. */
export type LotWarning = LotPageData['warnings'][number];
/** The public page of one serialised item (`scanSerial`). */
export type SerialPage = ScanSerialMutation['scanSerial'];
export type CopyWarning = SerialPage['copyWarnings'][number];

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
  /**
   * Change the signed-in user's password (the server ends the user's other sessions); returns the
   * session as it is afterwards, with the organisation read if a one-time password held it back.
   */
  changePassword(session: Session, oldPassword: string, newPassword: string): Promise<Session>;
  /** The public page of a lot; `null` if the lot is unknown. */
  lotPage(gtin: string, lot: string): Promise<LotPage | null>;
}
