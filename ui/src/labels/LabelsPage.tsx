import { PrinterOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, InputNumber, Space, Typography } from 'antd';
import QRCode from 'qrcode';
import { useState } from 'react';

import { useI18n } from '../i18n/I18nProvider';
import { checkLotLink, lotUrl } from '../scan/digitalLink';

interface LabelForm {
  gtin: string;
  lot: string;
  copies: number;
}

interface Label {
  url: string;
  dataUrl: string;
  gtin: string;
  lot: string;
  copies: number;
}

/** Printable QR labels encoding a lot's GS1 Digital Link URL on this server. */
export function LabelsPage() {
  const { t } = useI18n();
  const [label, setLabel] = useState<Label | null>(null);
  const [error, setError] = useState<string | null>(null);

  const make = async ({ gtin, lot, copies }: LabelForm) => {
    setError(null);
    const url = lotUrl(window.location.origin, gtin, lot);
    try {
      const dataUrl = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 256 });
      setLabel({ url, dataUrl, gtin, lot, copies });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section aria-labelledby="labels-title">
      <Typography.Title id="labels-title" level={2} className="no-print">
        {t('labels.title')}
      </Typography.Title>
      <Card className="no-print">
        <Form<LabelForm> layout="inline" onFinish={make} initialValues={{ copies: 6 }}>
          <Form.Item
            label={t('labels.gtin')}
            name="gtin"
            rules={[{ validator: (_, v: string) => (checkLotLink(v ?? '', 'X') === 'gtin' ? Promise.reject(new Error(t('scan.invalid.gtin'))) : Promise.resolve()) }]}
          >
            <Input inputMode="numeric" maxLength={14} />
          </Form.Item>
          <Form.Item
            label={t('labels.lot')}
            name="lot"
            rules={[{ validator: (_, v: string) => (checkLotLink('00000000000000', v ?? '') === 'lot' ? Promise.reject(new Error(t('scan.invalid.lot'))) : Promise.resolve()) }]}
          >
            <Input maxLength={20} />
          </Form.Item>
          <Form.Item label={t('labels.copies')} name="copies">
            <InputNumber min={1} max={60} />
          </Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">
              {t('labels.generate')}
            </Button>
            <Button icon={<PrinterOutlined />} disabled={!label} onClick={() => window.print()}>
              {t('labels.print')}
            </Button>
          </Space>
        </Form>
      </Card>
      {error && <Alert type="error" message={error} role="alert" />}
      {label && (
        <div className="label-sheet">
          {Array.from({ length: label.copies }, (_, i) => (
            <div className="label" key={i}>
              <img src={label.dataUrl} alt={t('labels.qrAlt', { lot: label.lot, url: label.url })} width={128} height={128} />
              <div>
                <div>GTIN {label.gtin}</div>
                <div>
                  {t('scan.lot')} {label.lot}
                </div>
                <small>{t('labels.scanHint')}</small>
              </div>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
