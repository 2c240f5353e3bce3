(function () {
  "use strict";
  function key(cell) {
    if (!cell) return null;
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    if (raw === "") return null;
    var num = Number(raw);
    return isNaN(num) ? raw.toLowerCase() : num;
  }
  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    Array.prototype.slice.call(body.rows)
      .map(function (row, i) { return {row: row, k: key(row.cells[index]), i: i}; })
      .sort(function (a, b) {
        if (a.k === null || b.k === null) return a.k === b.k ? a.i - b.i : (a.k === null ? 1 : -1);
        if (typeof a.k !== typeof b.k) return typeof a.k === "number" ? -1 : 1;
        var cmp = a.k < b.k ? -1 : (a.k > b.k ? 1 : 0);
        return cmp ? cmp * dir : a.i - b.i;
      })
      .forEach(function (item) { body.appendChild(item.row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });
})();
