// The dashboard works without script; this only adds conveniences (served from the package, CSP 'self').
document.addEventListener("click", function (event) {
  var target = event.target;
  if (target instanceof Element && target.closest("[data-print]")) {
    window.print();
  }
});
