// Record/recording page: clicking a marker seeks the video; the position is shown under the list.
(function () {
  var video = document.getElementById("video");
  if (!video) return;
  var position = document.getElementById("position");
  function seek(offset) {
    video.currentTime = offset;
    video.play().catch(function () {});
  }
  document.querySelectorAll("button.seek").forEach(function (b) {
    b.addEventListener("click", function () { seek(parseFloat(b.dataset.offset)); });
  });
  video.addEventListener("timeupdate", function () {
    if (position) position.textContent = video.currentTime.toFixed(1);
  });
  var start = parseFloat(video.dataset.seek || "");
  if (!isNaN(start)) {
    video.addEventListener("loadedmetadata", function once() {
      video.removeEventListener("loadedmetadata", once);
      if (video.currentTime === 0) video.currentTime = start;
    });
  }
})();
