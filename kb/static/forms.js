// Progressive enhancement for forms; everything works without it.
// 1. The error summary takes focus (for browsers that ignore autofocus on it), and its links
//    put the focus in the field they name, not only scroll to it.
// 2. A file larger than its field's data-max-bytes is refused before it is sent, with the
//    field's own message (data-too-large) shown next to it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && document.activeElement !== summary) {
      summary.focus();
    }
    if (summary) {
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        var field = link && document.getElementById(link.getAttribute("href").slice(1));
        if (field) {
          event.preventDefault();
          field.scrollIntoView({ block: "center" });
          field.focus();
        }
      });
    }
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      var message = document.createElement("p");
      message.className = "errors";
      message.id = input.id + "-size-error";
      message.setAttribute("role", "alert");
      message.hidden = true;
      input.insertAdjacentElement("afterend", message);
      input.addEventListener("change", function () {
        var limit = Number(input.dataset.maxBytes);
        var file = input.files && input.files[0];
        var tooLarge = Boolean(file && file.size > limit);
        message.hidden = !tooLarge;
        message.textContent = tooLarge ? input.dataset.tooLarge : "";
        input.setAttribute("aria-invalid", tooLarge ? "true" : "false");
        if (tooLarge) {
          input.value = "";
        }
      });
    });
  });
})();
