// datasync dashboard: the little behaviour the server-rendered pages need. No framework, no build.
/* global document, location, confirm, setInterval, fetch -- browser script, served as is */
'use strict';

// Import status reloads itself while files are queued or running (body[data-autorefresh] seconds),
// but not while the operator is typing in a form.
(function autoRefresh() {
  var s = Number(document.body.getAttribute('data-autorefresh'));
  if (!s) return;
  setInterval(function () {
    var a = document.activeElement;
    if (a && (a.tagName === 'INPUT' || a.tagName === 'SELECT' || a.tagName === 'TEXTAREA')) return;
    location.reload();
  }, s * 1000);
})();

// Tabs: links with data-tab show the element with that id and hide its siblings.
document.querySelectorAll('.tabs a[data-tab]').forEach(function (link) {
  link.addEventListener('click', function (e) {
    e.preventDefault();
    document.querySelectorAll('.tabs a[data-tab]').forEach(function (l) {
      l.classList.toggle('current', l === link);
      var t = document.getElementById(l.getAttribute('data-tab'));
      if (t) t.hidden = l !== link;
    });
  });
});

// Buttons with data-confirm ask first (cancel, retry, disable).
document.querySelectorAll('[data-confirm]').forEach(function (b) {
  b.addEventListener('click', function (e) {
    if (!confirm(b.getAttribute('data-confirm'))) e.preventDefault();
  });
});

// Filter selects submit their form on change.
document.querySelectorAll('form.filters select').forEach(function (s) {
  s.addEventListener('change', function () {
    s.form.submit();
  });
});

// The files browser's upload form: the file goes as the raw body of PUT /files/<account>/<folder>/<name>
// (streamed to disk by the server, the way an SFTP upload is), and the answer is shown under the form.
// Everything shown is set with textContent: names and messages never become markup.
function say(el, cls, parts) {
  el.hidden = false;
  el.className = cls;
  el.textContent = '';
  parts.forEach(function (p) {
    if (typeof p === 'string') el.appendChild(document.createTextNode(p));
    else {
      var a = document.createElement('a');
      a.href = p.href;
      a.textContent = p.text;
      el.appendChild(a);
    }
  });
}
function errorText(body, status) {
  var e = body && body.error;
  return e ? e.code + ': ' + e.message : 'the request failed (HTTP ' + status + ')';
}
function answer(res) {
  return res.json().then(
    function (body) {
      return { ok: res.ok, status: res.status, body: body };
    },
    function () {
      return { ok: false, status: res.status, body: null };
    },
  );
}

document.querySelectorAll('form[data-upload]').forEach(function (form) {
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var out = document.getElementById('upload-result');
    var file = form.querySelector('input[type=file]').files[0];
    if (!file) return;
    var folder = form.querySelector('select[name=folder]').value;
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    say(out, 'muted', ['Uploading ' + file.name + '…']);
    fetch(
      form.getAttribute('action') + '/' + encodeURIComponent(folder) + '/' + encodeURIComponent(file.name),
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: file,
        credentials: 'same-origin',
      },
    )
      .then(answer)
      .then(function (r) {
        if (!r.ok) return say(out, 'error', [errorText(r.body, r.status)]);
        var account = decodeURIComponent(form.getAttribute('action').split('/').pop());
        say(out, 'ok', [
          'Uploaded ' + r.body.path + ' (' + r.body.size + ' bytes). Its job appears in ',
          {
            href: (folder === 'import' ? '/imports' : '/jobs') + '?account=' + encodeURIComponent(account),
            text: folder === 'import' ? 'Import status' : 'Jobs',
          },
          '.',
        ]);
      })
      .catch(function (err) {
        say(out, 'error', ['The upload failed: ' + err.message]);
      })
      .finally(function () {
        button.disabled = false;
      });
  });
});

// The events form: the JSON lines file goes to POST /events/<account>; the counts come back as JSON.
document.querySelectorAll('form[data-events]').forEach(function (form) {
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var out = document.getElementById('events-result');
    var file = form.querySelector('input[type=file]').files[0];
    if (!file) return;
    say(out, 'muted', ['Sending ' + file.name + '…']);
    fetch(form.getAttribute('action'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: file,
      credentials: 'same-origin',
    })
      .then(answer)
      .then(function (r) {
        if (!r.ok) return say(out, 'error', [errorText(r.body, r.status)]);
        var b = r.body;
        say(out, '', []);
        var line = document.createElement('p');
        line.className = b.rejected.length ? 'error' : 'ok';
        line.textContent =
          b.recorded +
          ' accepted, ' +
          b.duplicates +
          ' already recorded, ' +
          b.rejected.length +
          ' rejected.';
        out.appendChild(line);
        var table = document.createElement('table');
        table.className = 'kv';
        table.id = 'events-counts';
        [
          ['Received', b.received],
          ['Accepted', b.recorded],
          ['Already recorded', b.duplicates],
          ['Rejected', b.rejected.length],
          ['Unsubscribed', b.unsubscribed],
        ].forEach(function (row) {
          var tr = table.insertRow();
          var th = document.createElement('th');
          th.textContent = row[0];
          tr.appendChild(th);
          var td = tr.insertCell();
          td.className = 'num';
          td.setAttribute('data-count', row[0].toLowerCase().replace(/ /g, '-'));
          td.textContent = String(row[1]);
        });
        out.appendChild(table);
        if (b.rejected.length) {
          var list = document.createElement('ul');
          list.id = 'events-rejected';
          b.rejected.slice(0, 20).forEach(function (x) {
            var li = document.createElement('li');
            li.textContent = 'event ' + x.index + ': ' + x.code + ' ' + x.message;
            list.appendChild(li);
          });
          out.appendChild(list);
        }
      })
      .catch(function (err) {
        say(out, 'error', ['Sending failed: ' + err.message]);
      });
  });
});
