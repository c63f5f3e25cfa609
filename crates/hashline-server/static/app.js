// hashline triage: keyboard shortcuts and the colour/hide toggles. Pages work without it.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(el.type)));
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
    if (ev.key === "?") {
      var d = document.querySelector("details.keys");
      if (d) { d.open = !d.open; ev.preventDefault(); }
      return;
    }
    var el = document.querySelector('[data-key="' + CSS.escape(ev.key) + '"]');
    if (!el || el.disabled) return;
    ev.preventDefault();
    if (el.type === "radio" || el.type === "checkbox") { el.checked = true; el.focus(); }
    else if (typing(el)) { el.focus(); }
    else { el.click(); }
  });
  var pic = document.getElementById("picture");
  var colour = document.getElementById("colour");
  var hide = document.getElementById("hide");
  if (pic && colour) {
    colour.addEventListener("click", function () {
      var on = pic.getAttribute("src") === pic.dataset.colour;
      pic.setAttribute("src", on ? pic.dataset.clear : pic.dataset.colour);
      colour.setAttribute("aria-pressed", on ? "false" : "true");
    });
  }
  if (pic && hide) {
    hide.addEventListener("click", function () {
      pic.setAttribute("src", pic.dataset.preview);
      pic.className = "blurred";
      if (colour) colour.disabled = true;
      hide.disabled = true;
    });
  }
})();
