// The PST chat widget: <script src="(pstbot address)/widget.js" defer></script> on
// any page adds a chat bubble that opens the chat (/chat) in a frame. No libraries.
//
// It must hold on pages it does not know: long pages, their own fixed headers and banners with
// high z-index, right-to-left pages, themes that style every button or iframe, and a <body>
// with a transform (which would make `position: fixed` scroll with the page). So the bubble
// and the frame hang from <html>, not <body>, and every style is set inline and `!important`.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__pstbotWidget) return;
  window.__pstbotWidget = true;
  var origin = new URL(script.src, location.href).origin;
  var LABELS = __PSTBOT_LABELS__;
  var label = script.getAttribute('data-label') || LABELS.open;
  var TOP = '2147483647';
  var frame = null;

  function style(el, props) {
    for (var k in props) el.style.setProperty(k, props[k], 'important');
  }

  var btn = document.createElement('button');
  btn.type = 'button';
  btn.setAttribute('aria-label', label);
  btn.setAttribute('aria-expanded', 'false');
  btn.title = label;
  btn.innerHTML = '<svg aria-hidden="true" focusable="false" width="28" height="28" viewBox="0 0 24 24">' +
    '<path fill="currentColor" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
  style(btn, {
    all: 'initial', position: 'fixed', right: '16px', left: 'auto', bottom: '16px', top: 'auto',
    width: '60px', height: '60px', 'border-radius': '50%', border: '0', margin: '0', padding: '0',
    background: '#0b5394', color: '#fff', 'box-shadow': '0 4px 14px rgba(0,0,0,0.3)',
    cursor: 'pointer', 'z-index': TOP, display: 'flex', 'align-items': 'center',
    'justify-content': 'center', visibility: 'visible', opacity: '1', transform: 'none'
  });
  // `all: initial` took the focus ring too: give it back.
  btn.addEventListener('focus', function () { style(btn, { outline: '3px solid #f5a700', 'outline-offset': '2px' }); });
  btn.addEventListener('blur', function () { btn.style.removeProperty('outline'); });

  // The part of the page on screen (the visual viewport) can be smaller than the fixed layer
  // (a pinch-zoomed page, a phone's toolbars and keyboard): the bubble and the frame follow
  // the part on screen, and the frame is sized to it.
  function place() {
    var v = window.visualViewport;
    fit(btn, 16, 16, null);
    if (frame && frame.style.display !== 'none') {
      var w = v ? v.width : document.documentElement.clientWidth;
      var h = v ? v.height : document.documentElement.clientHeight;
      style(frame, { width: Math.min(400, w - 32) + 'px', height: Math.min(640, h - 104) + 'px' });
      fit(frame, 16, 88, null);
    }
  }

  // Puts `el` `right` and `bottom` pixels from the corner of the part on screen: it is set
  // against the fixed layer first, then moved by how far that corner is from the screen's.
  function fit(el, right, bottom) {
    style(el, { right: right + 'px', bottom: bottom + 'px' });
    var v = window.visualViewport;
    if (!v) return;
    var r = el.getBoundingClientRect();
    var dx = r.right - (v.offsetLeft + v.width - right);
    var dy = r.bottom - (v.offsetTop + v.height - bottom);
    if (Math.abs(dx) > 1 || Math.abs(dy) > 1) {
      style(el, { right: (right + dx) + 'px', bottom: (bottom + dy) + 'px' });
    }
  }

  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/chat?embed=1';
      frame.title = LABELS.title;
      style(frame, {
        all: 'initial', position: 'fixed', right: '16px', left: 'auto', bottom: '88px', top: 'auto',
        border: '0', margin: '0', padding: '0',
        width: 'min(400px, calc(100vw - 32px))', height: 'min(640px, calc(100vh - 104px))',
        'max-width': 'none', 'max-height': 'none', 'min-width': '0', 'min-height': '0',
        'border-radius': '12px', 'box-shadow': '0 8px 28px rgba(0,0,0,0.3)', 'z-index': TOP,
        background: '#fff', display: 'block', visibility: 'visible', opacity: '1', transform: 'none'
      });
      // Where the browser knows `dvh`, the height follows a phone's toolbars and keyboard.
      style(frame, { height: 'min(640px, calc(100dvh - 104px))' });
      document.documentElement.appendChild(frame);
    }
    style(frame, { display: 'block' });
    place();
    btn.setAttribute('aria-expanded', 'true');
    frame.focus();
  }

  function close() {
    if (frame) style(frame, { display: 'none' });
    btn.setAttribute('aria-expanded', 'false');
    btn.focus();
  }

  btn.addEventListener('click', function () {
    if (frame && frame.style.display !== 'none') close(); else open();
  });
  window.addEventListener('message', function (e) {
    if (e.origin === origin && e.data && e.data.pstbot === 'close') close();
  });

  function mount() {
    document.documentElement.appendChild(btn);
    place();
    if (window.visualViewport) {
      window.visualViewport.addEventListener('resize', place);
      window.visualViewport.addEventListener('scroll', place);
    }
    window.addEventListener('resize', place);
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
