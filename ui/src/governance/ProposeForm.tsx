import { Collapse } from 'antd';

import { ChainHeightDocument, ProposeDocument, type ProposalKindInput } from '../api/generated';
import { useGql, useQuery } from '../api/hooks';
import type { Translate } from '../i18n/I18nProvider';
import { useI18n } from '../i18n/I18nProvider';
import { ActionForm, type FieldSpec, type Values } from '../portal/actions/ActionForm';

export const PROPOSAL_KINDS = [
  'addOrg',
  'removeOrg',
  'setMember',
  'addValidator',
  'removeValidator',
  'setParam',
  'rotateOrgKey',
  'rotateValidatorKey',
  'addOrgCa',
  'removeOrgCa',
  'revokeCertificate',
] as const;
export type ProposalKindName = (typeof PROPOSAL_KINDS)[number];

/** The form's kind name of a stored proposal kind (`add_org_ca` → `addOrgCa`). */
export function kindName(stored: string): ProposalKindName | null {
  const camel = stored.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return (PROPOSAL_KINDS as readonly string[]).includes(camel) ? (camel as ProposalKindName) : null;
}

/** RFC 5280 CRLReason names the chain accepts for a revocation (scf_ca `RevocationReason`). */
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'caCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  'privilegeWithdrawn',
] as const;

/** An organisation CA recorded on chain, as the propose form offers it. */
export interface KnownCa {
  org: string;
  subject: string;
  fingerprint: string;
}

const FINGERPRINT = /^(0x)?[0-9a-fA-F]{64}$/;
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;

/** Why `pem` is not one PEM certificate (the chain checks the rest: SM2, self-signed, a CA), or null. */
export function pemProblem(pem: string): 'format' | 'many' | null {
  const s = pem.trim();
  if (!PEM.test(s)) return 'format';
  if ((s.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1) return 'many';
  return null;
}

/** Organisation roles (domain/src/org.rs `Role`). */
export const ORG_ROLES = ['core_enterprise', 'supplier', 'funder', 'warehouse_operator', 'logistics', 'tax_authority', 'regulator', 'producer', 'retailer'] as const;

/** Parameters governance may change (domain/src/governance `set_param`). */
export const PARAMS = ['chain.max_tx_bytes', 'chain.max_block_txs', 'chain.max_expiry_window', 'gov.participation_bp', 'gov.pass_bp', 'gov.validator_delay_blocks'] as const;

const k = (kind: ProposalKindName) => (all: Record<string, unknown>) => all.kind === kind;

export function proposalFields(t: Translate, height: number | null, cas: readonly KnownCa[] = []): FieldSpec[] {
  const caLabel = (c: KnownCa) => `${c.org} · ${c.subject} · ${c.fingerprint.slice(0, 16)}…`;
  // A recorded CA is picked from the list; with none loaded, its fingerprint is typed.
  const caField = (name: string, label: string, when: (a: Record<string, unknown>) => boolean, ofOrg: boolean): FieldSpec =>
    cas.length > 0
      ? {
          name,
          label,
          kind: 'select',
          when,
          options: cas.map((c) => ({ value: c.fingerprint, label: caLabel(c) })),
          check: ofOrg
            ? (v, all) => {
                const c = cas.find((x) => x.fingerprint === v);
                return c && all.org && c.org !== all.org ? t('propose.caOfOther', { org: c.org }) : null;
              }
            : undefined,
        }
      : { name, label, when, help: t('propose.fingerprintHelp'), check: (v) => (FINGERPRINT.test(v) ? null : t('propose.fingerprintBad')) };
  return [
    { name: 'title', label: t('propose.titleField') },
    {
      name: 'kind',
      label: t('propose.kind'),
      kind: 'select',
      initial: 'addOrg',
      options: PROPOSAL_KINDS.map((x) => ({ value: x, label: t(`propose.kind.${x}`) })),
    },
    // addOrg
    { name: 'orgId', label: t('propose.orgId'), kind: 'upperId', when: k('addOrg'), placeholder: 'NEWORG' },
    { name: 'orgName', label: t('propose.orgName'), when: k('addOrg') },
    { name: 'creditCode', label: t('propose.creditCode'), kind: 'uscc', when: k('addOrg') },
    { name: 'roles', label: t('propose.roles'), kind: 'multi', when: k('addOrg'), options: ORG_ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })) },
    { name: 'adminKey', label: t('propose.adminKey'), kind: 'sm2key', when: k('addOrg'), help: t('propose.adminKeyHelp') },
    { name: 'committeeWeight', label: t('propose.committeeWeight'), kind: 'int', min: 0, max: 1_000_000, initial: '0', when: k('addOrg') },
    // removeOrg / setMember / rotateOrgKey
    {
      name: 'org',
      label: t('propose.org'),
      kind: 'org',
      when: (a) => a.kind === 'removeOrg' || a.kind === 'setMember' || a.kind === 'rotateOrgKey' || a.kind === 'addOrgCa' || a.kind === 'removeOrgCa',
    },
    { name: 'weight', label: t('propose.weight'), kind: 'int', min: 0, max: 1_000_000, when: k('setMember') },
    // validators
    { name: 'validatorName', label: t('propose.validatorName'), when: (a) => a.kind === 'addValidator' || a.kind === 'removeValidator' || a.kind === 'rotateValidatorKey' },
    { name: 'validatorKey', label: t('propose.validatorKey'), kind: 'sm2key', when: (a) => a.kind === 'addValidator' || a.kind === 'rotateValidatorKey' },
    { name: 'power', label: t('propose.power'), kind: 'int', min: 1, max: 1_000_000, initial: '1', when: k('addValidator') },
    { name: 'peerId', label: t('propose.peerId'), optional: true, when: k('addValidator') },
    {
      name: 'activationDelay',
      label: t('propose.activationDelay'),
      kind: 'int',
      min: 0,
      max: 1_000_000,
      initial: '0',
      when: (a) => a.kind === 'addValidator' || a.kind === 'removeValidator' || a.kind === 'rotateValidatorKey',
    },
    // setParam
    { name: 'param', label: t('propose.param'), kind: 'select', when: k('setParam'), options: PARAMS.map((p) => ({ value: p, label: p })) },
    { name: 'value', label: t('propose.value'), kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, when: k('setParam') },
    // rotateOrgKey
    { name: 'newOrgKey', label: t('propose.newKey'), kind: 'sm2key', when: k('rotateOrgKey') },
    {
      name: 'retireAtHeight',
      label: t('propose.retireAtHeight'),
      kind: 'int',
      when: k('rotateOrgKey'),
      check: (v) => (height !== null && Number(v) < height ? t('propose.notBefore', { height }) : null),
    },
    // addOrgCa / removeOrgCa / revokeCertificate
    {
      name: 'caPem',
      label: t('propose.caPem'),
      kind: 'textarea',
      when: k('addOrgCa'),
      placeholder: '-----BEGIN CERTIFICATE-----',
      help: t('propose.caPemHelp'),
      check: (v) => {
        const p = pemProblem(v);
        return p ? t(`propose.pem.${p}`) : null;
      },
    },
    caField('caFingerprint', t('propose.caFingerprint'), k('removeOrgCa'), true),
    caField('issuerCa', t('propose.issuerCa'), k('revokeCertificate'), false),
    { name: 'serial', label: t('propose.serial'), kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, when: k('revokeCertificate'), help: t('propose.serialHelp') },
    {
      name: 'reason',
      label: t('propose.reason'),
      kind: 'select',
      initial: 'keyCompromise',
      when: k('revokeCertificate'),
      options: REVOCATION_REASONS.map((r) => ({ value: r, label: `${t(`revoke.reason.${r}`)} (${r})` })),
    },
    {
      name: 'deadlineHeight',
      label: t('propose.deadlineHeight'),
      kind: 'int',
      help: height !== null ? t('propose.deadlineHelp', { height }) : undefined,
      check: (v) => (height !== null && Number(v) <= height ? t('propose.afterHeight', { height }) : null),
    },
  ];
}

export function proposalKind(v: Values): ProposalKindInput {
  const s = (x: string) => (v[x] === undefined ? '' : String(v[x]));
  const n = (x: string) => Number(v[x] ?? 0);
  switch (s('kind') as ProposalKindName) {
    case 'addOrg':
      return {
        addOrg: {
          id: s('orgId'),
          name: s('orgName'),
          creditCode: s('creditCode'),
          roles: (v.roles as string[] | undefined) ?? [],
          publicKey: s('adminKey').toLowerCase(),
          committeeWeight: n('committeeWeight'),
        },
      };
    case 'removeOrg':
      return { removeOrg: { orgId: s('org') } };
    case 'setMember':
      return { setMember: { orgId: s('org'), weight: n('weight') } };
    case 'addValidator':
      return { addValidator: { name: s('validatorName'), publicKey: s('validatorKey').toLowerCase(), power: n('power'), peerId: s('peerId') || null, activationDelay: n('activationDelay') } };
    case 'removeValidator':
      return { removeValidator: { name: s('validatorName'), activationDelay: n('activationDelay') } };
    case 'setParam':
      return { setParam: { name: s('param'), value: n('value') } };
    case 'rotateOrgKey':
      return { rotateOrgKey: { orgId: s('org'), newKey: s('newOrgKey').toLowerCase(), retireAtHeight: n('retireAtHeight') } };
    case 'rotateValidatorKey':
      return { rotateValidatorKey: { name: s('validatorName'), newKey: s('validatorKey').toLowerCase(), activationDelay: n('activationDelay') } };
    case 'addOrgCa':
      return { addOrgCa: { orgId: s('org'), certificatePem: s('caPem') } };
    case 'removeOrgCa':
      return { removeOrgCa: { orgId: s('org'), fingerprint: s('caFingerprint').toLowerCase().replace(/^0x/, '') } };
    case 'revokeCertificate':
      return { revokeCertificate: { caFingerprint: s('issuerCa').toLowerCase().replace(/^0x/, ''), serial: n('serial'), reason: s('reason') } };
  }
}

/** An admin of a committee member proposes a change; voting is open up to the deadline height. */
export function ProposeForm({ onDone, cas = [] }: { onDone: () => void; cas?: readonly KnownCa[] }) {
  const { t } = useI18n();
  const gql = useGql();
  const chain = useQuery(ChainHeightDocument, {});
  const height = chain.data?.chainStatus.height ?? null;
  return (
    // Folded by default: most visits are to follow and vote on proposals, not to make one.
    <Collapse
      style={{ marginBottom: 16 }}
      items={[
        {
          key: 'propose',
          label: t('propose.title'),
          children:
            height !== null ? (
              <ActionForm
                title={t('propose.submit')}
                fields={proposalFields(t, height, cas).map((f) => (f.name === 'deadlineHeight' ? { ...f, initial: String(height + 600) } : f))}
                onDone={onDone}
                submit={(v) => gql(ProposeDocument, { input: { title: String(v.title), kind: proposalKind(v), deadlineHeight: Number(v.deadlineHeight) } })}
              />
            ) : null,
        },
      ]}
    />
  );
}
