import { Alert, App, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';

import { describeError } from '../api/errors';
import { useSession } from '../auth/SessionProvider';
import { useI18n } from '../i18n/I18nProvider';
import { passwordProblem } from '../validate/password';

interface Values {
  oldPassword: string;
  newPassword: string;
  confirm: string;
}

/**
 * Changing one's own password: reached from the user menu, and the only page a user signed in with a
 * one-time password sees until it is changed (the server answers nothing else for such a session).
 * The rules are the server's, checked at the fields; the server's refusal (a wrong current password)
 * is shown above the form.
 */
export function ChangePasswordPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { session, changePassword } = useSession();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const forced = session?.user.mustChangePassword === true;
  const title = t('password.title');
  const fieldError = (field: string, reason: string) => Promise.reject(new Error(t('form.fieldError', { field, reason })));

  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      await changePassword(v.oldPassword, v.newPassword);
      void message.success(t('password.done'));
      navigate('/', { replace: true });
    } catch (e) {
      setError(t('tx.failed', { action: title, reason: describeError(e, t) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="password-title" style={{ maxWidth: 480 }}>
      <Typography.Title id="password-title" level={2}>
        {title}
      </Typography.Title>
      <Card size="small">
        {forced && <Alert type="warning" showIcon role="alert" message={t('password.forced')} style={{ marginBottom: 16 }} />}
        {error && <Alert type="error" showIcon role="alert" message={error} style={{ marginBottom: 16 }} />}
        <Form<Values> layout="vertical" requiredMark={false} aria-label={title} onFinish={submit}>
          <Form.Item name="oldPassword" label={t('password.old')} rules={[{ required: true, message: t('form.required', { field: t('password.old') }) }]}>
            <Input.Password aria-label={t('password.old')} autoComplete="current-password" />
          </Form.Item>
          <Form.Item
            name="newPassword"
            label={t('password.new')}
            extra={t('password.help')}
            dependencies={['oldPassword']}
            validateFirst
            rules={[
              { required: true, message: t('form.required', { field: t('password.new') }) },
              ({ getFieldValue }) => ({
                validator: (_, v?: string) => {
                  if (!v) return Promise.resolve();
                  const p = passwordProblem(v);
                  if (p) return fieldError(t('password.new'), t(`password.${p}`));
                  return v === getFieldValue('oldPassword') ? fieldError(t('password.new'), t('password.same')) : Promise.resolve();
                },
              }),
            ]}
          >
            <Input.Password aria-label={t('password.new')} autoComplete="new-password" />
          </Form.Item>
          <Form.Item
            name="confirm"
            label={t('password.confirm')}
            dependencies={['newPassword']}
            validateFirst
            rules={[
              { required: true, message: t('form.required', { field: t('password.confirm') }) },
              ({ getFieldValue }) => ({
                validator: (_, v?: string) => (!v || v === getFieldValue('newPassword') ? Promise.resolve() : fieldError(t('password.confirm'), t('password.mismatch'))),
              }),
            ]}
          >
            <Input.Password aria-label={t('password.confirm')} autoComplete="new-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={busy}>
            {title}
          </Button>
        </Form>
      </Card>
    </section>
  );
}
