// The PST chat widget: <script src="(pstbot address)/widget.js" defer></script> on
// any page adds a chat bubble that opens the chat (/chat) in a frame. No libraries.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__pstbotWidget) return;
  window.__pstbotWidget = true;
  var origin = new URL(script.src, location.href).origin;
  var LABELS = __PSTBOT_LABELS__;
  var label = script.getAttribute('data-label') || LABELS.open;
  var frame = null;

  var btn = document.createElement('button');
  btn.type = 'button';
  btn.setAttribute('aria-label', label);
  btn.setAttribute('aria-expanded', 'false');
  btn.title = label;
  btn.innerHTML = '<svg aria-hidden="true" focusable="false" width="28" height="28" viewBox="0 0 24 24">' +
    '<path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  var s = btn.style;
  s.position = 'fixed'; s.right = '16px'; s.bottom = '16px'; s.width = '60px'; s.height = '60px';
  s.borderRadius = '50%'; s.border = '0'; s.background = '#0b5394'; s.color = '#fff';
  s.boxShadow = '0 4px 14px rgba(0,0,0,0.3)'; s.cursor = 'pointer'; s.zIndex = '2147483000';
  s.display = 'flex'; s.alignItems = 'center'; s.justifyContent = 'center';

  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/chat?embed=1';
      frame.title = LABELS.title;
      var f = frame.style;
      f.position = 'fixed'; f.right = '16px'; f.bottom = '88px'; f.border = '0';
      f.width = 'min(400px, calc(100vw - 32px))'; f.height = 'min(640px, calc(100vh - 110px))';
      f.borderRadius = '12px'; f.boxShadow = '0 8px 28px rgba(0,0,0,0.3)'; f.zIndex = '2147483000';
      f.background = '#fff';
      document.body.appendChild(frame);
    }
    frame.style.display = 'block';
    btn.setAttribute('aria-expanded', 'true');
    frame.focus();
  }

  function close() {
    if (frame) frame.style.display = 'none';
    btn.setAttribute('aria-expanded', 'false');
    btn.focus();
  }

  btn.addEventListener('click', function () {
    if (frame && frame.style.display !== 'none') close(); else open();
  });
  window.addEventListener('message', function (e) {
    if (e.origin === origin && e.data && e.data.pstbot === 'close') close();
  });

  function mount() { document.body.appendChild(btn); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
