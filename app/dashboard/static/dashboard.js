// The dashboard works without script; this only adds conveniences (served from the package, CSP 'self').
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-print]")) {
    window.print();
  }
});

// A region that scrolls sideways shows "scroll" and a fading edge (dashboard.css) only while there
// is more to see: "fits" when nothing is hidden, "at-end" once scrolled to the right edge.
function markScrollHints() {
  document.querySelectorAll("[data-scroll-hint]").forEach(function (box) {
    var region = box.querySelector(".scroll-region");
    if (!region) {
      return;
    }
    var update = function () {
      var hidden = region.scrollWidth - region.clientWidth;
      box.classList.toggle("fits", hidden <= 1);
      box.classList.toggle("at-end", region.scrollLeft >= hidden - 1);
    };
    region.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    update();
  });
}
document.addEventListener("DOMContentLoaded", markScrollHints);
