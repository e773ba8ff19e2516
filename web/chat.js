// The PST web chat page: talks to /api/web/* on the same origin; no libraries, no build step.
(function () {
  'use strict';

  var HEADERS = { 'Content-Type': 'application/json', 'X-PSTBot-Chat': '1' };
  var state = { cfg: null, lang: 'id', last: 0, seen: {}, events: null };
  var embed = /[?&]embed=1\b/.test(location.search);

  function $(id) { return document.getElementById(id); }
  function t(key) { return ((state.cfg && state.cfg.texts[state.lang]) || {})[key] || ''; }

  function newId() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function api(path, opts) {
    opts = opts || {};
    opts.credentials = 'same-origin';
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
    var other = nextLanguage();
    $('lang').textContent = other.toUpperCase();
    $('lang').setAttribute('aria-label', t('language_switch'));
    $('lang').title = t('language_switch');
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
        b.textContent = p.slice(1, -1);
        el.appendChild(b);
      } else if (p) {
        el.appendChild(document.createTextNode(p));
      }
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
    div.className = 'msg ' + (m.visitor ? 'me' : 'bot');
    div.setAttribute('data-seq', m.seq);
    var who = document.createElement('span');
    who.className = 'sr';
    who.textContent = (m.visitor ? t('you') : t('bot')) + ': ';
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
      div.appendChild(document.createElement('br'));
      div.appendChild(a);
    });
    if (m.choices && m.choices.length) {
      var g = document.createElement('div');
      g.className = 'choices';
      g.setAttribute('role', 'group');
      m.choices.forEach(function (c) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'choice';
        b.textContent = c.label;
        b.addEventListener('click', function () {
          var all = g.querySelectorAll('button');
          for (var i = 0; i < all.length; i++) all[i].disabled = true;
          b.classList.add('picked');
          send({ choice: c.value, label: c.label });
        });
        g.appendChild(b);
      });
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
    log.scrollTop = log.scrollHeight;
  }

  function renderAll(list) { (list || []).forEach(render); }

  function send(payload) {
    payload.id = newId();
    say('');
    return api('/api/web/messages', { method: 'POST', headers: HEADERS, body: JSON.stringify(payload) })
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
    api('/api/web/files', { method: 'POST', headers: { 'X-PSTBot-Chat': '1' }, body: form })
      .then(function (r) { renderAll(r.messages); })
      .catch(showError)
      .then(function () { $('attach').value = ''; });
  }

  function listen() {
    if (!window.EventSource) return;
    var es = new EventSource('/api/web/events?after=' + state.last);
    es.onmessage = function (e) {
      try { render(JSON.parse(e.data)); } catch (err) { /* a malformed event is skipped */ }
    };
    es.onopen = function () {
      var s = $('status');
      if (!s.classList.contains('error')) say('');
    };
    es.onerror = function () {
      if (es.readyState !== EventSource.OPEN) say(t('offline'), false);
    };
    state.events = es;
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
      return api('/api/web/session', { method: 'POST', headers: HEADERS, body: '{}' });
    }).then(function () {
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
