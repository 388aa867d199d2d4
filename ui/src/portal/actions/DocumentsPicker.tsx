import { Form, List, Typography } from 'antd';

import { useI18n } from '../../i18n/I18nProvider';
import { sm3, toHex } from '../../verify';

export interface PickedDocument {
  name: string;
  sm3: string;
}

/** Largest file hashed in the browser (the chain registers only the name and the hash). */
const MAX_DOC_BYTES = 50 * 1024 * 1024;

/** Documents registered by their SM3 hash: the files stay with the applicant, the chain keeps name and digest. */
export function DocumentsPicker({ value, onChange }: { value: PickedDocument[]; onChange: (d: PickedDocument[]) => void }) {
  const { t } = useI18n();
  return (
    <Form.Item label={t('docs.label')} extra={t('docs.help')}>
      <input
        type="file"
        multiple
        aria-label={t('docs.label')}
        onChange={async (e) => {
          const files = [...(e.target.files ?? [])].filter((f) => f.size <= MAX_DOC_BYTES);
          const picked = await Promise.all(files.map(async (f) => ({ name: f.name.slice(0, 200), sm3: toHex(sm3(new Uint8Array(await f.arrayBuffer()))) })));
          onChange(picked);
        }}
      />
      {value.length > 0 && (
        <section aria-label={t('docs.list')}>
        <List
          size="small"
          dataSource={value}
          renderItem={(d) => (
            <List.Item>
              {d.name} <Typography.Text code style={{ fontSize: 11 }}>SM3 {d.sm3}</Typography.Text>
            </List.Item>
          )}
        />
        </section>
      )}
    </Form.Item>
  );
}
