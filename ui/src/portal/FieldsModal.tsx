import { Button, Form, Input, Modal, Select } from 'antd';
import type { ReactNode } from 'react';

import type { OrganisationFieldsFragment } from '../api/generated';
import { useI18n } from '../i18n/I18nProvider';
import { MAX_API_FEN, parseYuan } from '../money/fen';
import { useOrgs } from './OrgDirectory';

export interface Field {
  name: string;
  label: string;
  /** `percent`: up to two decimals, (0, 100] → basis points via parseYuan; `yuan`: an amount in 元. */
  kind?: 'text' | 'org' | 'percent' | 'yuan' | 'textarea';
  filter?: (o: OrganisationFieldsFragment) => boolean;
  initial?: string;
}

/** A small modal form of required fields (text, organisation, percentage or 元 amount). */
export function FieldsModal({
  open,
  title,
  busy,
  fields,
  onSubmit,
  onCancel,
  extra,
}: {
  open: boolean;
  title: string;
  busy: boolean;
  fields: Field[];
  onSubmit: (values: Record<string, string | undefined>) => void;
  onCancel: () => void;
  /** Rendered after the fields (e.g. attached documents). */
  extra?: ReactNode;
}) {
  const { t } = useI18n();
  const orgs = useOrgs();
  const initialValues = Object.fromEntries(fields.filter((f) => f.initial !== undefined).map((f) => [f.name, f.initial]));
  return (
    <Modal open={open} title={title} onCancel={onCancel} footer={null} destroyOnHidden>
      <Form layout="vertical" onFinish={onSubmit} requiredMark={false} aria-label={title} initialValues={initialValues}>
        {fields.map((f) => (
          <Form.Item
            key={f.name}
            name={f.name}
            label={f.label}
            rules={[
              { required: true, whitespace: true, message: t('form.required', { field: f.label }) },
              ...(f.kind === 'percent'
                ? [
                    {
                      validator: (_: unknown, value: string | undefined) => {
                        const bp = value ? parseYuan(value) : null;
                        return !value || (bp !== null && bp > 0n && bp <= 10000n) ? Promise.resolve() : Promise.reject(new Error(t('form.percent')));
                      },
                    },
                  ]
                : []),
              ...(f.kind === 'yuan'
                ? [
                    {
                      validator: (_: unknown, value: string | undefined) => {
                        const fen = value ? parseYuan(value) : null;
                        return !value || (fen !== null && fen > 0n && fen <= MAX_API_FEN) ? Promise.resolve() : Promise.reject(new Error(t('form.amount')));
                      },
                    },
                  ]
                : []),
            ]}
          >
            {f.kind === 'org' ? (
              <Select
                showSearch
                optionFilterProp="label"
                aria-label={f.label}
                options={orgs.orgs.filter((o) => (f.filter ? f.filter(o) : true)).map((o) => ({ value: o.id, label: o.name }))}
              />
            ) : f.kind === 'textarea' ? (
              <Input.TextArea aria-label={f.label} rows={3} />
            ) : (
              <Input
                aria-label={f.label}
                inputMode={f.kind === 'percent' || f.kind === 'yuan' ? 'decimal' : 'text'}
                suffix={f.kind === 'percent' ? '%' : undefined}
                prefix={f.kind === 'yuan' ? '¥' : undefined}
              />
            )}
          </Form.Item>
        ))}
        {extra}
        <Button type="primary" htmlType="submit" loading={busy} block>
          {title}
        </Button>
      </Form>
    </Modal>
  );
}
