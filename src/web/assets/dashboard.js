// datasync dashboard: the little behaviour the server-rendered pages need. No framework, no build.
/* global document, location, confirm, setInterval -- browser script, served as is */
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
