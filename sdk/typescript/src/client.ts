/**
 * The API client: GraphQL (`/graphql`) with typed operations, the EPCIS 2.0 REST binding (`/epcis`), and
 * what a self-signing client needs (nonce, dry run, submit). Errors are `ScfError` carrying the API's
 * `extensions.code` (and `field` / `rule` when given), so callers branch on codes, never on messages.
 */
import type { Call, SignedTx, TxBody } from './tx.js';
import { encodeSignedTx, signTx } from './tx.js';
import type { Sm2Key } from './keys.js';
import { toHex } from './verify/bytes.js';
import type { WebhookKind } from './webhooks.js';

export class ScfError extends Error {
  constructor(
    message: string,
    /** `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`, `CONFLICT`, `NOT_FOUND`, … or `HTTP_<status>`. */
    readonly code: string,
    readonly field?: string,
    readonly rule?: string,
  ) {
    super(message);
    this.name = 'ScfError';
  }
}

export interface ClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A session token from `login`. */
  token?: string;
  fetch?: typeof fetch;
}

export interface TxResult {
  txId: string;
  height: number;
  events: { kind: string; module: string; attributes: { name: string; value: string }[] }[];
}

export interface DryRunResult {
  txId: string;
  height: number;
  outcome: 'success' | 'failed';
  errorCode: string | null;
  errorMessage: string | null;
  events: { kind: string; module: string }[];
}

export interface InvoiceParty {
  name: string;
  taxId: string;
}

export interface InvoiceLine {
  itemName: string;
  spec?: string;
  unit?: string;
  quantity?: string;
  unitPrice?: string;
  amount: number;
  taxRateBp: number;
  taxAmount: number;
}

export interface IssueInvoiceInput {
  number: string;
  issueDate: string;
  currency?: string;
  seller: InvoiceParty;
  buyer: InvoiceParty;
  buyerOrg?: string;
  lines: InvoiceLine[];
  totalAmount: number;
  totalTax: number;
  totalWithTax: number;
  remarks?: string;
  issuer: string;
}

export interface IssueVoucherInput {
  voucherNo: string;
  to: string;
  amount: number;
  currency?: string;
  dueDate: string;
  contractRef: string;
  invoices: string[];
  allowOverSixMonths?: boolean;
}

export interface ApplyFinancingInput {
  applicationId: string;
  voucherId: string;
  funder: string;
  requestedRateBp: number;
  documents?: { name: string; sm3: string }[];
}

export interface FinancingApplication {
  id: string;
  state: string;
  supplier: string;
  funder: string;
  voucherId: string;
  amount: number;
  /** Sealed for the supplier, the funder and regulators: `null` when the API cannot open it for the caller. */
  requestedRateBp: number | null;
}

export interface Task {
  instanceId: string;
  process: string;
  state: string;
  party: string;
  actions: string[];
  deadlineMs: number | null;
  canAct: boolean;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  kinds: WebhookKind[];
  fromHeight: number;
}

export interface CaptureJob {
  captureID: string;
  running: boolean;
  success: boolean;
  captureErrorBehaviour: 'rollback' | 'proceed';
  errors: { type: string; title: string; detail?: string }[];
  createdAt: string;
  finishedAt?: string;
}

/** An event as the EPCIS query interface returns it, with its CBV 2.0 hash and anchoring block. */
export type EpcisEvent = Record<string, unknown> & {
  type: string;
  eventID: string;
  eventTime: string;
  'scf:eventHash': string;
  'scf:anchor': { height: number; txId: string; blockHash: string; org: string };
};

const TX_FIELDS = 'txId height events { kind module attributes { name value } }';

export class ScfClient {
  readonly url: string;
  token: string | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? fetch;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }

  /** One GraphQL request; the first error becomes an `ScfError`. */
  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const r = await this.fetchFn(`${this.url}/graphql`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables }),
    });
    if (!r.ok && r.headers.get('content-type')?.includes('json') !== true) {
      throw new ScfError(`${r.status} ${r.statusText}`, `HTTP_${r.status}`);
    }
    const body = (await r.json()) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string; field?: string; rule?: string } }[];
    };
    const e = body.errors?.[0];
    if (e) throw new ScfError(e.message, e.extensions?.code ?? 'UNKNOWN', e.extensions?.field, e.extensions?.rule);
    if (body.data === undefined) throw new ScfError('no data in the response', 'PROTOCOL');
    return body.data;
  }

  /** A REST call; RFC 7807 problems become `ScfError`s named by their `type`. */
  async rest(method: string, path: string, body?: string, contentType?: string): Promise<Response> {
    const r = await this.fetchFn(`${this.url}${path}`, {
      method,
      headers: this.headers(contentType ? { 'content-type': contentType } : {}),
      body,
    });
    if (r.status >= 400) {
      let title = `${r.status} ${r.statusText}`;
      let type = `HTTP_${r.status}`;
      try {
        const p = (await r.json()) as { type?: string; title?: string };
        title = p.title ?? title;
        type = p.type ?? type;
      } catch {
        // not a problem document
      }
      throw new ScfError(title, type);
    }
    return r;
  }

  /** Sign in; the client keeps the token for later calls. */
  async login(username: string, password: string): Promise<{ token: string; orgId: string; role: string }> {
    const d = await this.graphql<{ login: { token: string; user: { orgId: string; role: string } } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { orgId role } } }',
      { u: username, p: password },
    );
    this.token = d.login.token;
    return { token: d.login.token, orgId: d.login.user.orgId, role: d.login.user.role };
  }

  async chainStatus(): Promise<{ chainId: string; height: number }> {
    const d = await this.graphql<{ chainStatus: { chainId: string; height: number } }>(
      '{ chainStatus { chainId height } }',
    );
    return d.chainStatus;
  }

  // ---- self-signing clients -------------------------------------------------------------------

  /** The nonce the account's next transaction must carry (committed state; count your own in flight). */
  async nextNonce(address: string): Promise<bigint> {
    const d = await this.graphql<{ nextNonce: { nonce: number } }>(
      'query($a: String!) { nextNonce(address: $a) { nonce } }',
      { a: address },
    );
    return BigInt(d.nextNonce.nonce);
  }

  /** A transaction body for `call` signed by `key`: the chain id, the next nonce, an expiry window. */
  async prepare(key: Sm2Key, call: Call, opts: { expiryBlocks?: number; nonce?: bigint } = {}): Promise<TxBody> {
    const status = await this.chainStatus();
    const nonce = opts.nonce ?? (await this.nextNonce(key.address));
    return {
      chainId: status.chainId,
      sender: key.publicKey,
      nonce,
      expiryHeight: BigInt(status.height + (opts.expiryBlocks ?? 100)),
      call,
    };
  }

  /** The receipt `tx` would have if committed now (nothing is written). */
  async dryRun(tx: SignedTx): Promise<DryRunResult> {
    const d = await this.graphql<{ dryRun: DryRunResult }>(
      'query($t: String!) { dryRun(signedTxHex: $t) { txId height outcome errorCode errorMessage events { kind module } } }',
      { t: toHex(encodeSignedTx(tx)) },
    );
    return d.dryRun;
  }

  /** Submit a signed transaction and wait for its receipt (a refusal by a rule is an `ScfError`). */
  async submit(tx: SignedTx): Promise<TxResult> {
    const d = await this.graphql<{ submitSignedTransaction: TxResult }>(
      `mutation($t: String!) { submitSignedTransaction(signedTxHex: $t) { ${TX_FIELDS} } }`,
      { t: toHex(encodeSignedTx(tx)) },
    );
    return d.submitSignedTransaction;
  }

  /** Prepare, sign, dry-run (refusing what would fail) and submit. */
  async signAndSubmit(key: Sm2Key, call: Call): Promise<TxResult> {
    const tx = signTx(await this.prepare(key, call), key);
    const dry = await this.dryRun(tx);
    if (dry.outcome !== 'success') {
      throw new ScfError(`${dry.errorCode}: ${dry.errorMessage}`, 'CONFLICT', undefined, dry.errorCode ?? undefined);
    }
    return this.submit(tx);
  }

  /** An organisation admin registers a key a client holds as an account of the organisation. */
  async registerAccountKey(publicKeyHex: string, label: string, admin = false): Promise<TxResult> {
    const d = await this.graphql<{ registerAccountKey: TxResult }>(
      `mutation($k: String!, $l: String!, $a: Boolean!) { registerAccountKey(publicKey: $k, label: $l, admin: $a) { ${TX_FIELDS} } }`,
      { k: publicKeyHex, l: label, a: admin },
    );
    return d.registerAccountKey;
  }

  // ---- typed business operations ----------------------------------------------------------------

  async issueInvoice(input: IssueInvoiceInput): Promise<TxResult> {
    const d = await this.graphql<{ issueInvoice: TxResult }>(
      `mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { ${TX_FIELDS} } }`,
      { i: input },
    );
    return d.issueInvoice;
  }

  async issueVoucher(input: IssueVoucherInput): Promise<TxResult> {
    const d = await this.graphql<{ issueVoucher: TxResult }>(
      `mutation($i: IssueVoucherInput!) { issueVoucher(input: $i) { ${TX_FIELDS} } }`,
      { i: input },
    );
    return d.issueVoucher;
  }

  async voucher(id: string): Promise<{ id: string; holder: string; status: string; amount: number; invoices: string[] } | null> {
    const d = await this.graphql<{ voucher: { id: string; holder: string; status: string; amount: number; invoices: string[] } | null }>(
      'query($id: String!) { voucher(id: $id) { id holder status amount invoices } }',
      { id },
    );
    return d.voucher;
  }

  async applyForFinancing(input: ApplyFinancingInput): Promise<TxResult> {
    const d = await this.graphql<{ applyForFinancing: TxResult }>(
      `mutation($i: ApplyFinancingInput!) { applyForFinancing(input: $i) { ${TX_FIELDS} } }`,
      { i: input },
    );
    return d.applyForFinancing;
  }

  async checkFinancingInvoices(applicationId: string): Promise<TxResult> {
    const d = await this.graphql<{ checkFinancingInvoices: TxResult }>(
      `mutation($a: String!) { checkFinancingInvoices(applicationId: $a) { ${TX_FIELDS} } }`,
      { a: applicationId },
    );
    return d.checkFinancingInvoices;
  }

  async approveFinancing(applicationId: string, discountRateBp: number, agreementRef: string): Promise<TxResult> {
    const d = await this.graphql<{ approveFinancing: TxResult }>(
      `mutation($a: String!, $r: Int!, $g: String!) { approveFinancing(applicationId: $a, discountRateBp: $r, agreementRef: $g) { ${TX_FIELDS} } }`,
      { a: applicationId, r: discountRateBp, g: agreementRef },
    );
    return d.approveFinancing;
  }

  async financingApplications(filter: { funder?: string; state?: string } = {}): Promise<FinancingApplication[]> {
    const d = await this.graphql<{ financingApplications: FinancingApplication[] }>(
      'query($f: FinancingFilter) { financingApplications(filter: $f) { id state supplier funder voucherId amount requestedRateBp } }',
      { f: filter },
    );
    return d.financingApplications;
  }

  async myTasks(): Promise<Task[]> {
    const d = await this.graphql<{ myTasks: Task[] }>(
      '{ myTasks { instanceId process state party actions deadlineMs canAct } }',
    );
    return d.myTasks;
  }

  // ---- webhooks -------------------------------------------------------------------------------

  async registerWebhook(url: string, kinds: WebhookKind[]): Promise<WebhookEndpoint> {
    const d = await this.graphql<{ registerWebhook: WebhookEndpoint }>(
      'mutation($u: String!, $k: [WebhookKind!]!) { registerWebhook(url: $u, kinds: $k) { id url kinds fromHeight } }',
      { u: url, k: kinds },
    );
    return d.registerWebhook;
  }

  async deleteWebhook(id: string): Promise<boolean> {
    const d = await this.graphql<{ deleteWebhook: boolean }>('mutation($id: String!) { deleteWebhook(id: $id) }', { id });
    return d.deleteWebhook;
  }

  /** The public key webhook bodies are signed with (hex). */
  async webhookSigningKey(): Promise<string> {
    const r = await this.rest('GET', '/webhooks/signing-key');
    return ((await r.json()) as { publicKey: string }).publicKey;
  }

  // ---- EPCIS 2.0 REST -------------------------------------------------------------------------

  /** Capture an EPCIS document (JSON-LD or XML) and wait for its capture job to finish. */
  async captureEpcis(
    document: string,
    opts: { contentType?: string; errorBehaviour?: 'rollback' | 'proceed'; timeoutMs?: number } = {},
  ): Promise<CaptureJob> {
    const ct = opts.contentType ?? (document.trimStart().startsWith('<') ? 'application/xml' : 'application/ld+json');
    const r = await this.fetchFn(`${this.url}/epcis/capture`, {
      method: 'POST',
      headers: this.headers({
        'content-type': ct,
        ...(opts.errorBehaviour ? { 'GS1-Capture-Error-Behaviour': opts.errorBehaviour } : {}),
      }),
      body: document,
    });
    if (r.status !== 202) {
      const p = (await r.json().catch(() => ({}))) as { type?: string; title?: string };
      throw new ScfError(p.title ?? `${r.status}`, p.type ?? `HTTP_${r.status}`);
    }
    const location = r.headers.get('location');
    if (!location) throw new ScfError('capture: no Location header', 'PROTOCOL');
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const job = (await (await this.rest('GET', location)).json()) as CaptureJob;
      if (!job.running) return job;
      if (Date.now() > deadline) throw new ScfError(`capture job ${job.captureID} still running`, 'TIMEOUT');
      await new Promise((ok) => setTimeout(ok, 200));
    }
  }

  /** Query events with the standard parameters (arrays are pipe-joined), following every page. */
  async queryEpcis(params: Record<string, string | string[]> = {}): Promise<EpcisEvent[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) q.set(k, Array.isArray(v) ? v.join('|') : v);
    let path: string | null = `/epcis/events${q.size ? `?${q}` : ''}`;
    const out: EpcisEvent[] = [];
    while (path) {
      const r = await this.rest('GET', path);
      const doc = (await r.json()) as { epcisBody: { queryResults: { resultsBody: { eventList: EpcisEvent[] } } } };
      out.push(...doc.epcisBody.queryResults.resultsBody.eventList);
      const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '');
      path = next ? next[1]!.replace(this.url, '') : null;
    }
    return out;
  }
}
