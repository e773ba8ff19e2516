// The PST web chat page: talks to /api/web/* on the same origin; no libraries, no build step.
//
// The session: the server gives the page a token (POST /api/web/session) that the page keeps in
// its own storage and sends in the X-PSTBot-Session header with every request, so the chat
// works in a frame on another site (the widget), where browsers do not send the cookie. The
// cookie (first-party page) is the fallback when storage is off. See docs/channels/web-chat.md.
(function () {
  'use strict';

  var TOKEN_KEY = 'pstbot_token';
  var state = { cfg: null, lang: 'id', last: 0, seen: {}, token: null, retry: 1000 };
  var embed = /[?&]embed=1\b/.test(location.search);

  function $(id) { return document.getElementById(id); }
  function t(key) { return ((state.cfg && state.cfg.texts[state.lang]) || {})[key] || ''; }

  function newId() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function storedToken() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; /* storage off */ }
  }

  function keepToken(token) {
    if (!token) return;
    state.token = token;
    try { localStorage.setItem(TOKEN_KEY, token); } catch (e) { /* kept for this page only */ }
  }

  // The headers of every request: the page's mark (refused cross-site) and the session.
  function headers(extra) {
    var h = { 'X-PSTBot-Chat': '1' };
    if (state.token) h['X-PSTBot-Session'] = state.token;
    for (var k in (extra || {})) h[k] = extra[k];
    return h;
  }

  function api(path, opts) {
    opts = opts || {};
    opts.credentials = 'same-origin';
    opts.headers = headers(opts.headers);
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) {
          var err = new Error('HTTP ' + r.status);
          err.status = r.status;
          err.body = body;
          throw err;
        }
        return body;
      });
    });
  }

  function say(text, isError) {
    var s = $('status');
    s.textContent = text || '';
    s.classList.toggle('error', !!isError);
  }

  function showError(e) {
    var m = e && e.body && e.body.message;
    say(m ? (m[state.lang] || m.id || m.en) : t('error_server'), true);
  }

  // Applies the page texts of the current language.
  function applyTexts() {
    var c = state.cfg;
    document.documentElement.lang = state.lang;
    document.title = c.office + ' — PST';
    $('office').textContent = c.office;
    $('subtitle').textContent = t('subtitle');
    $('hours').textContent = t('hours');
    $('text-label').textContent = t('input_label');
    $('text').placeholder = t('input_label');
    $('text').maxLength = c.max_message_chars;
    $('send').textContent = t('send');
    $('attach-text').textContent = t('attach') + ' (' + t('attach_hint') + ')';
    $('attach-label').title = t('attach');
    $('attach').accept = c.accept;
    $('attach-hint').textContent = t('attach_hint');
    $('privacy').textContent = t('privacy_link');
    $('privacy').href = '/privacy?lang=' + encodeURIComponent(state.lang);
    $('log').setAttribute('aria-label', t('conversation'));
    // The button's name starts with what it shows ("EN"), then says what it does.
    var other = nextLanguage();
    var lang = $('lang');
    lang.textContent = other.toUpperCase();
    var what = document.createElement('span');
    what.className = 'sr';
    what.textContent = ' — ' + t('language_switch');
    lang.appendChild(what);
    lang.title = t('language_switch');
    $('menu').textContent = t('menu');
    $('close').setAttribute('aria-label', t('close_chat'));
  }

  function nextLanguage() {
    var langs = state.cfg.languages;
    return langs[(langs.indexOf(state.lang) + 1) % langs.length];
  }

  // Text with *bold* marks, as the dialogs write it.
  function formatInto(el, text) {
    var parts = String(text).split(/(\*[^*\n]+\*)/);
    parts.forEach(function (p) {
      if (/^\*[^*\n]+\*$/.test(p)) {
        var b = document.createElement('strong');
        keepWhole(b, p.slice(1, -1));
        el.appendChild(b);
      } else if (p) {
        keepWhole(el, p);
      }
    });
  }

  // A case number (ADU-2026-000001) is never broken at its hyphens.
  function keepWhole(el, text) {
    text.split(/(\b[A-Z]{2,6}-\d{4}-\d{3,}\b)/).forEach(function (p, i) {
      if (!p) return;
      if (i % 2) {
        var n = document.createElement('span');
        n.className = 'nobr';
        n.textContent = p;
        el.appendChild(n);
      } else {
        el.appendChild(document.createTextNode(p));
      }
    });
  }

  // Whether a message asks an optional question (it carries the "type skip" hint).
  function optional(m) {
    var hints = (state.cfg && state.cfg.skip_hint) || {};
    return Object.keys(hints).some(function (l) {
      return hints[l] && String(m.text).indexOf(hints[l]) >= 0;
    });
  }

  function timeOf(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return '';
    return ('0' + d.getHours()).slice(-2) + '.' + ('0' + d.getMinutes()).slice(-2);
  }

  // Only the newest message's buttons can be pressed.
  function retireChoices() {
    var groups = document.querySelectorAll('.choices');
    for (var i = 0; i < groups.length - 1; i++) {
      var bs = groups[i].querySelectorAll('button');
      for (var j = 0; j < bs.length; j++) bs[j].disabled = true;
    }
  }

  function render(m) {
    if (state.seen[m.seq]) return;
    state.seen[m.seq] = true;
    if (m.seq > state.last) state.last = m.seq;
    var div = document.createElement('div');
    div.className = 'msg ' + (m.visitor ? 'me' : m.officer ? 'bot officer' : 'bot');
    div.setAttribute('data-seq', m.seq);
    var who = document.createElement('span');
    if (m.officer) {
      // An officer's own words: shown (and read) as theirs, not the bot's.
      who.className = 'from';
      who.textContent = t('officer');
    } else {
      who.className = 'sr';
      who.textContent = (m.visitor ? t('you') : t('bot')) + ': ';
    }
    div.appendChild(who);
    var body = document.createElement('span');
    body.className = 'text';
    formatInto(body, m.text);
    div.appendChild(body);
    (m.files || []).forEach(function (f) {
      if (m.visitor) return;
      var a = document.createElement('a');
      a.className = 'file';
      a.href = f.url;
      a.setAttribute('download', f.name);
      a.textContent = t('download') + ': ' + f.name;
      a.addEventListener('click', function (e) { e.preventDefault(); download(f); });
      div.appendChild(document.createElement('br'));
      div.appendChild(a);
    });
    var skip = !m.visitor && optional(m);
    if ((m.choices && m.choices.length) || skip) {
      var g = document.createElement('div');
      g.className = 'choices';
      g.setAttribute('role', 'group');
      var press = function (b, payload) {
        b.addEventListener('click', function () {
          var all = g.querySelectorAll('button');
          for (var i = 0; i < all.length; i++) all[i].disabled = true;
          b.classList.add('picked');
          send(payload);
        });
      };
      (m.choices || []).forEach(function (c) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'choice';
        b.textContent = c.label;
        press(b, { choice: c.value, label: c.label });
        g.appendChild(b);
      });
      if (skip) {
        // An optional question: skipping it is one press, not a word to know.
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'choice skip';
        b.textContent = t('skip');
        press(b, { text: t('skip').toLowerCase() });
        g.appendChild(b);
      }
      div.appendChild(g);
    }
    var time = document.createElement('span');
    time.className = 'time';
    time.textContent = timeOf(m.at);
    div.appendChild(time);
    // Keep sequence order even when the stream and a post answer race.
    var log = $('log');
    var after = null;
    for (var n = log.lastElementChild; n; n = n.previousElementSibling) {
      if (Number(n.getAttribute('data-seq')) < m.seq) break;
      after = n;
    }
    log.insertBefore(div, after);
    retireChoices();
    // The newest message in view; one taller than the conversation's window is shown from its
    // start (the greeting's first line is not hidden under the header).
    if (!m.visitor && div.offsetHeight > log.clientHeight - 24) {
      log.scrollTop = div.offsetTop - 12;
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }

  function renderAll(list) { (list || []).forEach(render); }

  // A file from the conversation: fetched with the session header (a plain link carries no
  // session inside another site's frame), then saved under its name.
  function download(f) {
    fetch(f.url, { headers: headers(), credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = document.createElement('a');
      a.href = url;
      a.download = f.name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function () { say(t('error_server'), true); });
  }

  function send(payload) {
    payload.id = newId();
    say('');
    return api('/api/web/messages', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) })
      .then(function (r) { renderAll(r.messages); return true; })
      .catch(function (e) { showError(e); return false; });
  }

  function sendText() {
    var box = $('text');
    var text = box.value.trim();
    if (!text) return;
    $('send').disabled = true;
    send({ text: text }).then(function (ok) {
      if (ok) box.value = '';
      $('send').disabled = false;
      box.focus();
    });
  }

  function upload(file) {
    if (file.size > state.cfg.max_upload_bytes) {
      say(t('error_too_big'), true);
      return;
    }
    var form = new FormData();
    form.append('id', newId());
    form.append('file', file, file.name);
    say('');
    api('/api/web/files', { method: 'POST', body: form })
      .then(function (r) { renderAll(r.messages); })
      .catch(showError)
      .then(function () { $('attach').value = ''; });
  }

  // New messages as Server-Sent Events, read with fetch (EventSource cannot send the session
  // header); reconnects with a growing pause and goes on after the last message shown.
  function listen() {
    if (!window.ReadableStream || !window.TextDecoder) return;
    fetch('/api/web/events?after=' + state.last, {
      headers: headers({ Accept: 'text/event-stream' }),
      credentials: 'same-origin',
      cache: 'no-store'
    }).then(function (r) {
      if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
      if (!$('status').classList.contains('error')) say('');
      state.retry = 1000;
      var reader = r.body.getReader();
      var text = new TextDecoder();
      var buf = '';
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) throw new Error('stream closed');
          buf += text.decode(x.value, { stream: true }).replace(/\r/g, '');
          var end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            event(buf.slice(0, end));
            buf = buf.slice(end + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      say(t('offline'), false);
      setTimeout(listen, state.retry);
      state.retry = Math.min(state.retry * 2, 30000);
    });
  }

  function event(block) {
    var data = block.split('\n').filter(function (l) { return l.indexOf('data:') === 0; })
      .map(function (l) { return l.slice(5).replace(/^ /, ''); }).join('\n');
    if (!data) return;
    try { render(JSON.parse(data)); } catch (err) { /* a malformed event is skipped */ }
  }

  function start() {
    if (embed) {
      document.body.classList.add('embed');
      $('close').hidden = false;
      $('close').addEventListener('click', function () {
        parent.postMessage({ pstbot: 'close' }, '*');
      });
    }
    api('/api/web/config').then(function (cfg) {
      state.cfg = cfg;
      var saved = null;
      try { saved = localStorage.getItem('pstbot_lang'); } catch (e) { /* storage off */ }
      state.lang = cfg.languages.indexOf(saved) >= 0 ? saved : cfg.default_language;
      applyTexts();
      state.token = storedToken();
      return api('/api/web/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    }).then(function (r) {
      keepToken(r && r.token);
      return api('/api/web/history');
    }).then(function (h) {
      renderAll(h.messages);
      listen();
      if (!h.messages.length) {
        // A new visitor: open the menu in the chosen language.
        var first = state.lang === state.cfg.default_language ? 'menu' : 'bahasa ' + state.lang;
        return send({ text: first, silent: true }).then(function () {
          if (first !== 'menu') return send({ text: 'menu', silent: true });
        });
      }
    }).catch(showError);

    $('composer').addEventListener('submit', function (e) { e.preventDefault(); sendText(); });
    $('text').addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
    });
    $('attach').addEventListener('change', function () {
      if (this.files && this.files[0]) upload(this.files[0]);
    });
    $('menu').addEventListener('click', function () {
      send({ text: 'menu' });
    });
    $('lang').addEventListener('click', function () {
      state.lang = nextLanguage();
      try { localStorage.setItem('pstbot_lang', state.lang); } catch (e) { /* storage off */ }
      applyTexts();
      send({ text: 'bahasa ' + state.lang, silent: true });
    });
    document.addEventListener('keydown', function (e) {
      if (embed && e.key === 'Escape') parent.postMessage({ pstbot: 'close' }, '*');
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
