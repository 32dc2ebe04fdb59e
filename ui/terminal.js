// The one terminal component of the page (xterm.js 3.8, canvas renderer: the DOM renderer writes
// <style> elements, which the Content-Security-Policy forbids). A live session and the player
// both draw into it.
(function () {
  'use strict';
  var Terminal = execbridgeRequire('public/Terminal').Terminal;
  var fitAddon = execbridgeRequire('addons/fit/fit');

  function TerminalView(element) {
    var term = new Terminal({ rendererType: 'canvas', cursorBlink: true, scrollback: 2000, fontSize: 14,
                              fontFamily: 'DejaVu Sans Mono, Liberation Mono, monospace' });
    var fitting = true;
    term.open(element);
    this.term = term;

    // Follow the window, unless the player holds the recording's own size.
    this.fit = function () {
      if (!fitting) return;
      var geometry = fitAddon.proposeGeometry(term);
      if (geometry && geometry.cols > 1 && geometry.rows > 1) fitAddon.fit(term);
    };
    this.follow = function (on) { fitting = on; if (on) this.fit(); };
    this.reset = function () { term.reset(); };
    this.write = function (text) { term.write(text); };
    this.resize = function (cols, rows) { term.resize(cols, rows); };
    this.focus = function () { term.focus(); };
    this.size = function () { return { cols: term.cols, rows: term.rows }; };

    // The screen as text, one line per row (the canvas has no DOM text; tests read this).
    this.text = function () {
      var buffer = term._core.buffer;
      var lines = [];
      for (var y = 0; y < buffer.lines.length; y++) lines.push(buffer.translateBufferLineToString(y, true));
      return lines.join('\n').replace(/\s+$/, '');
    };

    var self = this;
    window.addEventListener('resize', function () { self.fit(); });
  }

  window.TerminalView = TerminalView;
})();
