// A terminal per session: each live session and each played recording gets a tab with its own
// terminal (the same component, ui/terminal.js); the bar above acts on the tab in front.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };

  function Tabs() {
    var tabs = [];
    var front = null;
    var serial = 0;
    var self = this;

    function show() {
      tabs.forEach(function (tab) {
        tab.pane.hidden = tab !== front;
        tab.button.className = tab === front ? 'tab front' : 'tab';
      });
      $('empty').hidden = tabs.length > 0;
      if (!front) {
        $('reconnect').hidden = $('disconnect').hidden = $('close').hidden = true;
        $('player').hidden = true;
        return;
      }
      front.view.follow(!front.player);
      front.view.focus();
      $('status').textContent = front.status;
      $('status').className = front.error ? 'error' : '';
      $('reconnect').hidden = !!front.player || front.channel !== null;
      $('disconnect').hidden = !!front.player || front.channel === null;
      $('close').hidden = false;
      $('player').hidden = !front.player;
      if (front.player) front.player.refresh();
    }

    // A new tab, in front; `title` names it in the bar.
    this.open = function (title) {
      var pane = document.createElement('div');
      pane.className = 'pane';
      $('terminals').appendChild(pane);
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = title;
      button.dataset.tab = String(++serial);
      $('tabs').appendChild(button);
      var tab = { id: serial, title: title, pane: pane, button: button, channel: null, player: null,
                  status: '', error: false, exit: null, session: null };
      button.addEventListener('click', function () { self.bringToFront(tab); });
      // Visible before xterm opens in it: it measures its cells then.
      tabs.forEach(function (other) { other.pane.hidden = true; });
      $('empty').hidden = true;
      tab.view = new TerminalView(pane);
      tabs.push(tab);
      front = tab;
      show();
      return tab;
    };

    this.bringToFront = function (tab) { front = tab; show(); };
    this.front = function () { return front; };

    this.setStatus = function (tab, text, isError) {
      tab.status = text;
      tab.error = !!isError;
      if (tab === front) show();
    };

    this.changed = function (tab) { if (tab === front) show(); };

    this.close = function (tab) {
      if (tab.channel) tab.channel.close();
      if (tab.player) tab.player.stop();
      tab.pane.remove();
      tab.button.remove();
      tabs.splice(tabs.indexOf(tab), 1);
      front = tabs.length ? tabs[tabs.length - 1] : null;
      show();
    };

    this.closeAll = function () { tabs.slice().forEach(self.close); };
    show();
  }

  window.Tabs = Tabs;
})();
