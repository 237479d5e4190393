// The console's entry: read /config.json, then render the app.
import { render } from 'preact';
import { App } from './app';
import { loadConfig } from './config';
import { browserLocale, translator } from './i18n';
import { interceptLinks } from './router';
import './styles.css';

const root = document.getElementById('app')!;

loadConfig()
  .then((config) => {
    interceptLinks();
    render(<App config={config} />, root);
  })
  .catch((error: unknown) => {
    const t = translator(browserLocale(navigator.languages));
    render(
      <main class="page">
        <p role="alert">{t('app.configFailed', { detail: String(error) })}</p>
      </main>,
      root,
    );
  });
