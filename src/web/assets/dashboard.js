// datasync dashboard: the little behaviour the server-rendered pages need. No framework, no build.
/* global document, location, confirm, setInterval, fetch, navigator, window -- browser script, served as is */
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

// The three file forms (upload, events, dry run) share one shape: the chosen file streams as the raw body of a
// fetch to a dashboard route, the JSON answer is rendered into the form's result element, errors are shown there.
function onFileSubmit(selector, resultId, request, render) {
  document.querySelectorAll(selector).forEach(function (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var out = document.getElementById(resultId);
      var file = form.querySelector('input[type=file]').files[0];
      if (!file) return;
      var rq = request(form, file);
      var button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      say(out, 'muted', [rq.busy]);
      fetch(rq.url, {
        method: rq.method,
        headers: { 'content-type': rq.contentType },
        body: file,
        credentials: 'same-origin',
      })
        .then(answer)
        .then(function (r) {
          if (!r.ok) return say(out, 'error', [errorText(r.body, r.status)]);
          render(form, out, r.body, rq);
        })
        .catch(function (err) {
          say(out, 'error', [rq.failed + err.message]);
        })
        .finally(function () {
          if (button) button.disabled = false;
        });
    });
  });
}

onFileSubmit(
  'form[data-upload]',
  'upload-result',
  function (form, file) {
    var folder = form.querySelector('select[name=folder]').value;
    return {
      url:
        form.getAttribute('action') + '/' + encodeURIComponent(folder) + '/' + encodeURIComponent(file.name),
      method: 'PUT',
      contentType: 'application/octet-stream',
      busy: 'Uploading ' + file.name + '…',
      failed: 'The upload failed: ',
      folder: folder,
    };
  },
  function (form, out, body, rq) {
    var account = decodeURIComponent(form.getAttribute('action').split('/').pop());
    say(out, 'ok', [
      'Uploaded ' + body.path + ' (' + body.size + ' bytes). Its job appears in ',
      {
        href: (rq.folder === 'import' ? '/imports' : '/jobs') + '?account=' + encodeURIComponent(account),
        text: rq.folder === 'import' ? 'Import status' : 'Jobs',
      },
      '.',
    ]);
  },
);

// The events form: the JSON lines file goes to POST /events/<account>; the counts come back as JSON.
onFileSubmit(
  'form[data-events]',
  'events-result',
  function (form, file) {
    return {
      url: form.getAttribute('action'),
      method: 'POST',
      contentType: 'application/x-ndjson',
      busy: 'Sending ' + file.name + '…',
      failed: 'Sending failed: ',
    };
  },
  function (form, out, b) {
    say(out, '', []);
    var line = document.createElement('p');
    line.className = b.rejected.length ? 'error' : 'ok';
    line.textContent =
      b.recorded + ' accepted, ' + b.duplicates + ' already recorded, ' + b.rejected.length + ' rejected.';
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
  },
);

// Copy buttons (a new API token, shown once): data-copy names the input to copy from.
document.querySelectorAll('button[data-copy]').forEach(function (b) {
  b.addEventListener('click', function () {
    var input = document.getElementById(b.getAttribute('data-copy'));
    if (!input) return;
    input.select();
    var done = function () {
      b.textContent = 'Copied';
    };
    // The clipboard API needs a secure context (https or localhost); elsewhere the text stays selected.
    if (navigator.clipboard && window.isSecureContext)
      navigator.clipboard.writeText(input.value).then(done, function () {});
    else if (document.execCommand && document.execCommand('copy')) done();
  });
});

// "Check a file (dry run)": the CSV goes as the raw body of POST /dry-run/<account>/<instance>?name=<file>;
// the counters and the first rejected rows come back as JSON and are shown as two tables.
function cell(tr, text, cls) {
  var td = tr.insertCell();
  if (cls) td.className = cls;
  td.textContent = String(text);
  return td;
}
onFileSubmit(
  'form[data-dry-run]',
  'dry-run-result',
  function (form, file) {
    var instance = form.querySelector('select[name=instance]').value;
    return {
      url:
        form.getAttribute('action') +
        '/' +
        encodeURIComponent(instance) +
        '?name=' +
        encodeURIComponent(file.name),
      method: 'POST',
      contentType: 'application/octet-stream',
      busy: 'Checking ' + file.name + '…',
      failed: 'The check failed: ',
    };
  },
  function (form, out, b) {
    var c = b.counters;
    say(out, '', []);
    var line = document.createElement('p');
    line.id = 'dry-run-summary';
    line.className = b.status === 'succeeded' ? 'ok' : 'error';
    line.textContent =
      b.file +
      ' with ' +
      b.instanceId +
      ': ' +
      (b.error
        ? 'the file cannot be imported — ' + b.error.code + ': ' + b.error.message
        : c.processed + ' rows, ' + c.valid + ' valid, ' + c.rejected + ' rejected. Nothing was imported.');
    out.appendChild(line);
    var table = document.createElement('table');
    table.className = 'kv';
    table.id = 'dry-run-counts';
    [
      ['Rows', 'processed'],
      ['Valid', 'valid'],
      ['Rejected', 'rejected'],
      ['Not matching the header', 'malformed'],
      ['Duplicated in the file', 'duplicated'],
      ['Would be created', 'created'],
      ['Would be updated', 'updated'],
      ['Unchanged', 'unchanged'],
    ].forEach(function (row) {
      var tr = table.insertRow();
      var th = document.createElement('th');
      th.textContent = row[0];
      tr.appendChild(th);
      cell(tr, c[row[1]], 'num').setAttribute('data-count', row[1]);
    });
    out.appendChild(table);
    if (b.rejected.length) {
      var h = document.createElement('h3');
      h.textContent =
        b.rejected.length < c.rejected
          ? 'The first ' + b.rejected.length + ' of ' + c.rejected + ' rejected rows'
          : 'Rejected rows';
      out.appendChild(h);
      var rej = document.createElement('table');
      rej.id = 'dry-run-rejected';
      var head = rej.createTHead().insertRow();
      ['Line', 'Code', 'Reason'].forEach(function (t) {
        var th = document.createElement('th');
        th.textContent = t;
        head.appendChild(th);
      });
      var body = rej.createTBody();
      b.rejected.forEach(function (x) {
        var tr = body.insertRow();
        cell(tr, x.line, 'num');
        cell(tr, x.code).className = 'code';
        cell(tr, x.reason);
      });
      out.appendChild(rej);
    }
  },
);
