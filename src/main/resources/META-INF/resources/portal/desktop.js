// A desktop in the browser: noVNC (served by the broker from npm's @novnc/novnc) over the broker's console
// WebSocket, opened with a one-time ticket that is also the console's one-time VNC password.
import { t } from './texts.js';

export async function openDesktop(container, ticket, { onClosed }) {
  const { default: RFB } = await import('/novnc/core/rfb.js');
  container.hidden = false;
  container.replaceChildren();
  const bar = document.createElement('div');
  bar.className = 'desktop-bar';
  const status = document.createElement('span');
  status.id = 'desktop-status';
  status.setAttribute('role', 'status');
  status.textContent = t('desktop.connecting');
  const back = document.createElement('button');
  back.type = 'button';
  back.id = 'desktop-back';
  back.textContent = t('desktop.back');
  bar.append(status, back);
  const screen = document.createElement('div');
  screen.id = 'screen';
  screen.className = 'screen';
  container.append(bar, screen);

  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}${ticket.path}?ticket=${encodeURIComponent(ticket.ticket)}`;
  const rfb = new RFB(screen, url, { credentials: { password: ticket.ticket }, shared: true });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.addEventListener('connect', () => {
    status.textContent = '';
    container.dataset.connected = 'true';
    rfb.focus();
  });
  rfb.addEventListener('credentialsrequired', () => rfb.sendCredentials({ password: ticket.ticket }));
  rfb.addEventListener('disconnect', (e) => {
    container.dataset.connected = 'false';
    container.hidden = true;
    container.replaceChildren();
    onClosed(e.detail && e.detail.clean ? t('desktop.closed') : t('error.unavailable'));
  });
  back.addEventListener('click', () => rfb.disconnect());
}
