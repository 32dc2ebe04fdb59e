// Plays an asciicast v2 recording (a header line, then [time, code, data] lines) in the page's
// terminal: play, pause, speed, seek. "o" events are written, "r" events resize the terminal;
// input ("i") and markers ("m") are not drawn.
(function () {
  'use strict';

  function parse(text) {
    var lines = text.split('\n').filter(function (line) { return line.length > 0; });
    if (lines.length === 0) throw new Error('empty recording');
    var header = JSON.parse(lines[0]);
    if (header.version !== 2) throw new Error('not an asciicast v2 recording');
    var events = [];
    for (var i = 1; i < lines.length; i++) {
      var event;
      try { event = JSON.parse(lines[i]); } catch (e) { break; } // a recording cut short mid-line
      if (Array.isArray(event) && event.length === 3 && typeof event[0] === 'number') events.push(event);
    }
    return { header: header, events: events, duration: events.length ? events[events.length - 1][0] : 0 };
  }

  // view: a TerminalView; ui: {onTime(position, duration), onState(playing)}.
  function Player(view, cast, ui) {
    var index = 0;       // next event to draw
    var position = 0;    // seconds into the recording
    var speed = 1;
    var timer = null;
    var last = 0;

    function start() {
      view.reset();
      view.resize(cast.header.width || 80, cast.header.height || 24);
      index = 0;
      position = 0;
    }

    function apply(event) {
      if (event[1] === 'o') view.write(event[2]);
      else if (event[1] === 'r') {
        var size = /^(\d+)x(\d+)$/.exec(event[2]);
        if (size) view.resize(parseInt(size[1], 10), parseInt(size[2], 10));
      }
    }

    // Draws every event up to `position`.
    function drawUntil(seconds) {
      while (index < cast.events.length && cast.events[index][0] <= seconds) apply(cast.events[index++]);
      position = Math.min(seconds, cast.duration);
      ui.onTime(position, cast.duration);
    }

    function tick() {
      var now = performance.now();
      drawUntil(position + (now - last) / 1000 * speed);
      last = now;
      if (index >= cast.events.length) return pause();
      timer = setTimeout(tick, 20);
    }

    function play() {
      if (timer !== null) return;
      if (index >= cast.events.length) { start(); }
      last = performance.now();
      timer = setTimeout(tick, 0);
      ui.onState(true);
    }

    function pause() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      ui.onState(false);
    }

    // A terminal cannot be rewound: drawing restarts from the beginning up to the new position.
    function seek(seconds) {
      seconds = Math.max(0, Math.min(seconds, cast.duration));
      if (seconds < position) start();
      drawUntil(seconds);
    }

    start();
    ui.onTime(0, cast.duration);
    this.play = play;
    this.pause = pause;
    this.seek = seek;
    this.playing = function () { return timer !== null; };
    this.setSpeed = function (value) { speed = value > 0 ? value : 1; };
    this.speed = function () { return speed; };
    // The controls show this player again (its tab came to the front).
    this.refresh = function () { ui.onTime(position, cast.duration); ui.onState(timer !== null); };
    this.stop = function () { pause(); };
    this.duration = cast.duration;
  }

  Player.parse = parse;
  window.Player = Player;
})();
