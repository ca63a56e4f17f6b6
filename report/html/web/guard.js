// pcapx report: the first script of the page. It records, on the <html>
// element, anything a conformance check (or a curious reader) wants to know
// went wrong: script errors, failed loads, Content-Security-Policy
// violations, and calls to alert/confirm/prompt/open, which this page never
// makes itself: a call means text from the capture ran as script.
(function () {
  "use strict";
  var root = document.documentElement;
  function note(attr, msg) {
    var old = root.getAttribute(attr);
    var s = String(msg).slice(0, 300);
    root.setAttribute(attr, old ? old + "\n" + s : s);
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      note("data-js-errors", "failed load: <" + t.tagName.toLowerCase() + "> " + (t.src || t.href || ""));
      return;
    }
    note("data-js-errors", (e.message || "error") + " at " + (e.filename || "?") + ":" + (e.lineno || 0));
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    note("data-js-errors", "unhandled rejection: " + (r && r.message ? r.message : r));
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    note("data-csp-violations", e.violatedDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
  });
  ["alert", "confirm", "prompt", "open"].forEach(function (name) {
    window[name] = function (arg) {
      note("data-alerts", name + "(" + arg + ")");
      return null;
    };
  });
})();
