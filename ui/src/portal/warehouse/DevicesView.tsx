import { Button, Card, Flex, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { useState } from 'react';

import {
  AuthoriseIngestorDocument,
  DevicesDocument,
  MyEventsDocument,
  RebindDeviceDocument,
  RegisterDeviceDocument,
  RevokeDeviceDocument,
  RevokeIngestorDocument,
  SetDeviceRulesDocument,
  type DeviceAlertRuleInput,
  type DeviceBindingInput,
  type DevicesQuery,
} from '../../api/generated';
import { useGql, useQuery, useSubscription } from '../../api/hooks';
import { useSession } from '../../auth/SessionProvider';
import type { Translate } from '../../i18n/I18nProvider';
import { useI18n } from '../../i18n/I18nProvider';
import { formatMilli, parseMilli } from '../../validate/milli';
import { ActionForm, ActionModal, type FieldSpec, type Values } from '../actions/ActionForm';
import { QueryView } from '../QueryView';
import { identityOf, warehouseCodeProblem } from './receiptForms';

type Device = DevicesQuery['devices']['nodes'][number];

const BINDINGS = ['WAREHOUSE_LOCATION', 'RECEIPT', 'SHIPMENT', 'LOT'] as const;
const KINDS = ['TEMPERATURE', 'HUMIDITY', 'TEMPERATURE_HUMIDITY', 'WEIGHT', 'LOCATION', 'OTHER'] as const;

const is = (k: string) => (all: Record<string, unknown>) => all.bindingKind === k;

/** Where a device is bound: the fields each binding kind needs (DeviceBindingInput). */
export function bindingFields(t: Translate): FieldSpec[] {
  return [
    {
      name: 'bindingKind',
      label: t('device.bindingKind'),
      kind: 'select',
      initial: 'WAREHOUSE_LOCATION',
      options: BINDINGS.map((b) => ({ value: b, label: t(`device.binding.${b}`) })),
    },
    {
      name: 'warehouse',
      label: t('receiptForm.warehouse'),
      when: is('WAREHOUSE_LOCATION'),
      check: (v) => (warehouseCodeProblem(v) ? t('valid.gs1.check', { key: 'GLN', lengths: '13' }) : null),
    },
    { name: 'zone', label: t('receiptForm.zone'), when: is('WAREHOUSE_LOCATION') },
    { name: 'bin', label: t('receiptForm.bin'), when: is('WAREHOUSE_LOCATION') },
    { name: 'goodsLot', label: t('device.goodsLot'), optional: true, when: is('WAREHOUSE_LOCATION') },
    { name: 'receipt', label: t('receipt.number'), kind: 'receiptNo', when: is('RECEIPT') },
    { name: 'shipment', label: t('device.sscc'), kind: 'sscc', when: is('SHIPMENT') },
    { name: 'gtin', label: t('receiptForm.gtin'), kind: 'gtin', optional: true, when: is('LOT') },
    { name: 'lot', label: t('receiptForm.lot'), when: is('LOT') },
  ];
}

export function bindingOf(v: Values): DeviceBindingInput {
  const s = (k: string) => (v[k] === undefined ? '' : String(v[k]));
  switch (s('bindingKind')) {
    case 'RECEIPT':
      return { kind: 'RECEIPT', receipt: s('receipt') };
    case 'SHIPMENT':
      return { kind: 'SHIPMENT', shipment: s('shipment') };
    case 'LOT':
      return { kind: 'LOT', lot: s('lot'), gtin: s('gtin') || null };
    default:
      return {
        kind: 'WAREHOUSE_LOCATION',
        location: { warehouse: s('warehouse'), zone: s('zone'), bin: s('bin') },
        goods: s('goodsLot') ? identityOf(undefined, s('goodsLot'), undefined) : null,
      };
  }
}

const milliCheck = (t: Translate) => (v: string) => (parseMilli(v) === null ? t('device.milliInvalid') : null);

/** A threshold rule and a silence rule: the two rules warehouses use (values in the reading's unit). */
export function ruleFields(t: Translate, current?: Device): FieldSpec[] {
  const th = current?.rules.find((r) => r.rule === 'THRESHOLD');
  const si = current?.rules.find((r) => r.rule === 'SILENCE');
  return [
    {
      name: 'readingType',
      label: t('device.readingType'),
      kind: 'select',
      optional: true,
      initial: th?.readingType ?? undefined,
      options: (['temperature', 'humidity', 'weight'] as const).map((r) => ({ value: r, label: t(`device.reading.${r}`) })),
      help: t('device.thresholdHelp'),
    },
    { name: 'min', label: t('device.min'), optional: true, initial: th?.min != null ? formatMilli(th.min) : undefined, check: milliCheck(t) },
    {
      name: 'max',
      label: t('device.max'),
      optional: true,
      initial: th?.max != null ? formatMilli(th.max) : undefined,
      check: (v, all) => milliCheck(t)(v) ?? (all.min && parseMilli(String(all.min))! > parseMilli(v)! ? t('device.minAboveMax') : null),
    },
    { name: 'forS', label: t('device.forS'), kind: 'int', optional: true, min: 0, max: 86_400, initial: th?.forMs != null ? String(th.forMs / 1000) : undefined },
    { name: 'silenceS', label: t('device.silenceS'), kind: 'int', optional: true, max: 86_400, initial: si?.maxGapMs != null ? String(si.maxGapMs / 1000) : undefined },
  ];
}

export function rulesOf(v: Values): DeviceAlertRuleInput[] {
  const rules: DeviceAlertRuleInput[] = [];
  const min = v.min === undefined ? null : parseMilli(String(v.min));
  const max = v.max === undefined ? null : parseMilli(String(v.max));
  if (v.readingType && (min !== null || max !== null)) {
    rules.push({ rule: 'THRESHOLD', readingType: String(v.readingType), min, max, forMs: v.forS === undefined ? 0 : Number(v.forS) * 1000 });
  }
  if (v.silenceS !== undefined) rules.push({ rule: 'SILENCE', maxGapMs: Number(v.silenceS) * 1000, forMs: 0 });
  return rules;
}

/** The organisation's devices: register (with the device's SM2 public key), rebind, rules, revoke; ingestion accounts. */
export function DevicesView({ owner }: { owner?: string }) {
  const { t } = useI18n();
  const gql = useGql();
  const { session } = useSession();
  const me = session?.organisation.id ?? '';
  const canAct = session?.user.role !== 'viewer';
  const query = useQuery(DevicesDocument, { filter: owner ? { owner } : null, first: 100 });
  useSubscription(MyEventsDocument, {}, (e) => {
    if (e.myEvents.module === 'device') query.refetch();
  });
  const [dialog, setDialog] = useState<{ action: 'rebind' | 'rules' | 'revoke'; device: Device } | null>(null);
  const describeBinding = (d: Device) => {
    const b = d.binding;
    switch (b.kind) {
      case 'WAREHOUSE_LOCATION':
        return `${b.location?.warehouse} / ${b.location?.zone} / ${b.location?.bin}${b.goods?.lot ? ` · ${b.goods.lot}` : ''}`;
      case 'RECEIPT':
        return b.receipt ?? '';
      case 'SHIPMENT':
        return b.shipment ?? '';
      case 'LOT':
        return [b.gtin, b.lot].filter(Boolean).join(' · ');
    }
  };
  const columns: TableColumnsType<Device> = [
    { title: t('device.id'), dataIndex: 'id' },
    { title: t('device.kind'), dataIndex: 'kind' },
    { title: t('device.bindingKind'), key: 'binding', render: (_, d) => t('form.labelled', { label: t(`device.binding.${d.binding.kind}`), value: describeBinding(d) }) },
    {
      title: t('device.rules'),
      key: 'rules',
      render: (_, d) =>
        d.rules.map((r, i) => (
          <Tag key={i}>
            {r.rule === 'THRESHOLD'
              ? `${r.readingType ?? ''} ${r.min != null ? formatMilli(r.min) : '−∞'}…${r.max != null ? formatMilli(r.max) : '∞'}`
              : r.rule === 'SILENCE'
                ? t('device.silenceTag', { s: (r.maxGapMs ?? 0) / 1000 })
                : r.rule}
          </Tag>
        )),
    },
    { title: t('receipt.status'), dataIndex: 'status', render: (s: 'ACTIVE' | 'REVOKED') => <Tag color={s === 'ACTIVE' ? 'green' : 'default'}>{t(`device.status.${s}`)}</Tag> },
    {
      title: t('voucher.actions'),
      key: 'actions',
      render: (_, d) =>
        canAct && d.owner === me && d.status === 'ACTIVE' ? (
          <Flex gap={4} wrap>
            {(['rebind', 'rules', 'revoke'] as const).map((a) => (
              <Button key={a} size="small" danger={a === 'revoke'} aria-label={`${t(`device.action.${a}`)} ${d.id}`} onClick={() => setDialog({ action: a, device: d })}>
                {t(`device.action.${a}`)}
              </Button>
            ))}
          </Flex>
        ) : null,
    },
  ];
  return (
    <>
      <QueryView query={query}>
        {(data) => (
          <Table<Device>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={data.devices.nodes}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t('state.empty') }}
            aria-label={t('device.title')}
          />
        )}
      </QueryView>
      {canAct && (
        <Flex gap={16} wrap align="start" style={{ marginTop: 16 }}>
          <Card title={t('device.register')} size="small" style={{ flex: '1 1 420px' }}>
            <ActionForm
              title={t('device.register')}
              onDone={query.refetch}
              fields={[
                { name: 'deviceId', label: t('device.id'), kind: 'deviceId', placeholder: 'CMST-TH-C01' },
                { name: 'publicKey', label: t('device.publicKey'), kind: 'sm2key', help: t('device.publicKeyHelp') },
                { name: 'kind', label: t('device.kind'), kind: 'select', initial: 'TEMPERATURE_HUMIDITY', options: KINDS.map((k) => ({ value: k, label: t(`device.kindName.${k}`) })) },
                { name: 'otherKind', label: t('device.otherKind'), when: (all) => all.kind === 'OTHER' },
                ...bindingFields(t),
                ...ruleFields(t),
              ]}
              submit={(v) =>
                gql(RegisterDeviceDocument, {
                  input: {
                    deviceId: String(v.deviceId),
                    publicKey: String(v.publicKey).toLowerCase(),
                    kind: String(v.kind) as (typeof KINDS)[number],
                    otherKind: v.otherKind === undefined ? null : String(v.otherKind),
                    binding: bindingOf(v),
                    rules: rulesOf(v),
                  },
                })
              }
            />
          </Card>
          <Card title={t('ingestor.title')} size="small" style={{ flex: '1 1 320px' }}>
            <Typography.Paragraph type="secondary">{t('ingestor.help')}</Typography.Paragraph>
            <ActionForm title={t('ingestor.authorise')} fields={[{ name: 'address', label: t('ingestor.address'), kind: 'address' }]} submit={(v) => gql(AuthoriseIngestorDocument, { address: String(v.address).toLowerCase() })} />
            <div style={{ height: 16 }} />
            <ActionForm title={t('ingestor.revoke')} danger fields={[{ name: 'address', label: t('ingestor.address'), kind: 'address' }]} submit={(v) => gql(RevokeIngestorDocument, { address: String(v.address).toLowerCase() })} />
          </Card>
        </Flex>
      )}
      {dialog && (
        <ActionModal
          title={`${t(`device.action.${dialog.action}`)} · ${dialog.device.id}`}
          danger={dialog.action === 'revoke'}
          fields={dialog.action === 'rebind' ? bindingFields(t) : dialog.action === 'rules' ? ruleFields(t, dialog.device) : [{ name: 'reason', label: t('form.reason'), kind: 'textarea' }]}
          onClose={() => setDialog(null)}
          onDone={query.refetch}
          submit={(v) =>
            dialog.action === 'rebind'
              ? gql(RebindDeviceDocument, { deviceId: dialog.device.id, binding: bindingOf(v) })
              : dialog.action === 'rules'
                ? gql(SetDeviceRulesDocument, { deviceId: dialog.device.id, rules: rulesOf(v) })
                : gql(RevokeDeviceDocument, { deviceId: dialog.device.id, reason: String(v.reason) })
          }
        />
      )}
    </>
  );
}
