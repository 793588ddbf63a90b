/* dailypapers site: lists, searches and filters the papers embedded in the page.
 *
 * Safety rule: a paper's text is only ever written with textContent (or as
 * text nodes), never as markup, and a URL is only used when it is http(s).
 * State lives in the URL hash (#q=...&topic=...&cat=...&from=...&to=...&new=1&sort=score),
 * so a search can be bookmarked and shared; it works from file:// too.
 *
 * The page already lists its papers (rendered by dailypapers, for readers
 * without JavaScript and for search engines); this script reads them back
 * from the HTML and replaces the list with a searchable, filterable, sortable
 * and paged one. On the index it searches every paper of the shared papers
 * file (titles, authors, comments, categories: no abstracts, which each
 * topic's page carries and searches).
 *
 * The search takes `dailypapers search`'s syntax: words (all must occur),
 * "quoted phrases", fields (ti: au: abs: co: jr: cat: id: all:), the
 * uppercase operators AND, OR and ANDNOT (AND binds tighter than OR; terms
 * side by side mean AND) and parentheses. Matching is on folded text
 * (case and accents ignored); cat:cs matches every cs.* category.
 */
(function () {
  "use strict";

  var list = document.getElementById("results");
  if (!list) {
    return;
  }
  // A topic's page lists all its papers in its HTML: the script reads them back
  // from there. The index lists its newest ones; every paper (without its
  // abstract) is in the shared papers file, which only the index loads.
  var scope = list.getAttribute("data-scope") || null;
  var topics = window.DAILYPAPERS_TOPICS || [];
  var listed = Array.prototype.map.call(list.querySelectorAll("li.paper"), fromNode);
  var papers = scope || !window.DAILYPAPERS_PAPERS ? listed : fromShared(listed);
  var topicNames = {};
  topics.forEach(function (topic) {
    topicNames[topic.slug] = topic.name;
  });
  fillNav();

  function text(node, selector, prefix) {
    var found = node.querySelector(selector);
    var content = found ? found.textContent : "";
    return prefix && content.indexOf(prefix) === 0 ? content.slice(prefix.length) : content;
  }

  /* A paper as the page's HTML lists it (the card itself is reused, re-highlighted). */
  function fromNode(node) {
    var link = node.querySelector("h2 a");
    var href = link ? link.getAttribute("href") : "";
    var score = node.getAttribute("data-score");
    return {
      id: node.id.replace(/^paper-/, ""),
      version: Number((/v(\d+)$/.exec(href || "") || [0, 0])[1]),
      title: text(node, "h2 a"),
      authorText: text(node, ".authors"),
      abstract: text(node, "details p"),
      comment: text(node, ".comment:not(.journal)", "Comment: "),
      journal_ref: text(node, ".journal", "Journal: "),
      categories: Array.prototype.map.call(node.querySelectorAll(".meta .cat"), function (badge) {
        return badge.textContent;
      }),
      updated: text(node, ".meta time"),
      topics: scope ? [scope] : [],
      "new": /\bis-new\b/.test(node.className),
      score: score === null ? null : Number(score),
      node: node,
    };
  }

  /* The index: every paper of the shared file, with the HTML's card where there is one. */
  function fromShared(nodes) {
    var byId = {};
    nodes.forEach(function (paper) {
      byId[paper.id] = paper;
    });
    return window.DAILYPAPERS_PAPERS.map(function (paper) {
      paper.authorText = paper.authors.join(", ");
      paper.abstract = ""; /* searched on the topic pages: the index matches every paper alike */
      paper.node = byId[paper.id] ? byId[paper.id].node : null;
      return paper;
    });
  }

  function fillNav() {
    // A topic page carries only its own link; the other topics come from the shared file.
    var nav = document.getElementById("topic-nav");
    if (!nav || !scope) {
      return;
    }
    topics.forEach(function (topic) {
      if (topic.slug === scope || !/^[a-z0-9-]+$/.test(topic.slug)) {
        return;
      }
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.setAttribute("href", "../topics/" + topic.slug + ".html");
      link.textContent = topic.name + " ";
      var count = document.createElement("span");
      count.className = "count";
      count.textContent = String(topic.count);
      link.appendChild(count);
      item.appendChild(link);
      nav.appendChild(item);
    });
  }

  var form = document.getElementById("controls");
  var fields = {
    q: document.getElementById("q"),
    topic: document.getElementById("topic"),
    cat: document.getElementById("cat"),
    from: document.getElementById("from"),
    to: document.getElementById("to"),
    fresh: document.getElementById("new"),
    sort: document.getElementById("sort"),
  };
  var countLine = document.getElementById("count");
  var more = document.getElementById("more");
  var pageSize = Number(list.getAttribute("data-page-size")) || 50;
  var current = [];
  var shown = 0;
  var terms = [];
  var onlyId = "";
  var timer = null;

  function fold(text) {
    return String(text || "")
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase();
  }

  papers.forEach(function (paper, index) {
    paper._order = index;
    paper._title = fold(paper.title);
    paper._authors = fold(paper.authorText);
    paper._abstract = fold(paper.abstract);
    paper._comment = fold(paper.comment);
    paper._journal = fold(paper.journal_ref);
    paper._text = [paper._title, paper._abstract, paper._authors, paper._comment, paper._journal]
      .concat(paper.categories.map(fold))
      .join("\n");
  });

  function arxivUrl(kind, paper) {
    return "https://arxiv.org/" + kind + "/" + paper.id + "v" + paper.version;
  }

  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function anchor(url, text) {
    var node = element("a", null, text);
    var safe = safeUrl(url);
    if (safe) {
      node.href = safe;
      node.rel = "noopener noreferrer";
    }
    return node;
  }

  /* Append `text` to `parent` as text nodes, with the search terms in <mark>. */
  function highlight(parent, text) {
    var folded = fold(text);
    if (!terms.length || folded.length !== text.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    var marks = [];
    terms.forEach(function (term) {
      var at = folded.indexOf(term);
      while (at !== -1) {
        marks.push([at, at + term.length]);
        at = folded.indexOf(term, at + term.length);
      }
    });
    marks.sort(function (a, b) {
      return a[0] - b[0];
    });
    var position = 0;
    marks.forEach(function (mark) {
      if (mark[0] < position) {
        return;
      }
      parent.appendChild(document.createTextNode(text.slice(position, mark[0])));
      parent.appendChild(element("mark", null, text.slice(mark[0], mark[1])));
      position = mark[1];
    });
    parent.appendChild(document.createTextNode(text.slice(position)));
  }

  function card(paper) {
    return paper.node ? reused(paper.node) : built(paper);
  }

  /* The card the page's HTML has, with the search terms marked again. */
  function reused(node) {
    var item = node.cloneNode(true);
    ["h2 a", ".authors", "details p"].forEach(function (selector) {
      var from = node.querySelector(selector);
      var to = item.querySelector(selector);
      if (from && to) {
        to.replaceChildren();
        highlight(to, from.textContent);
      }
    });
    return item;
  }

  /* A card from the shared papers file (the index, past its first page). */
  function built(paper) {
    var item = element("li", "paper");
    item.id = "paper-" + paper.id;
    var heading = element("h2");
    var title = anchor(arxivUrl("abs", paper));
    highlight(title, paper.title);
    heading.appendChild(title);
    item.appendChild(heading);
    if (paper.tldr) {
      item.appendChild(element("p", "tldr", "TL;DR: " + paper.tldr));
    }
    item.appendChild(meta(paper, item));
    var authors = element("p", "authors");
    highlight(authors, paper.authorText);
    item.appendChild(authors);
    if (paper.comment) {
      item.appendChild(element("p", "comment", "Comment: " + paper.comment));
    }
    if (paper.journal_ref) {
      item.appendChild(element("p", "comment journal", "Journal: " + paper.journal_ref));
    }
    var home = paper.topics.filter(function (slug) {
      return /^[a-z0-9-]+$/.test(slug);
    })[0];
    if (home) {
      var more = element("p", "abstract-link");
      var link = element("a", null, "Abstract on its topic's page");
      link.setAttribute("href", "topics/" + home + ".html#id=" + encodeURIComponent(paper.id));
      more.appendChild(link);
      item.appendChild(more);
    }
    var links = element("p", "links");
    links.appendChild(anchor(arxivUrl("abs", paper), "arXiv"));
    links.appendChild(anchor(arxivUrl("pdf", paper), "PDF"));
    (paper.links || []).forEach(function (found) {
      if (safeUrl(found.url)) {
        links.appendChild(anchor(found.url, found.label));
      }
    });
    item.appendChild(links);
    return item;
  }

  function meta(paper, item) {
    var line = element("p", "meta");
    line.appendChild(element("time", null, paper.updated));
    line.appendChild(document.createTextNode(" "));
    if (paper["new"]) {
      item.className += " is-new";
      line.appendChild(element("span", "badge new", "new"));
    }
    if (typeof paper.score === "number") {
      line.appendChild(element("span", "badge score", "score " + paper.score));
    }
    if (paper.revised) {
      var revised = "revised v" + paper.version + " (first " + paper.published + ")";
      line.appendChild(element("span", "badge revised", revised));
    }
    if (paper.venue) {
      line.appendChild(element("span", "badge venue", paper.venue));
    }
    paper.categories.forEach(function (category) {
      line.appendChild(element("span", "badge cat", category));
    });
    paper.topics.forEach(function (slug) {
      line.appendChild(element("span", "badge topic", topicNames[slug] || slug));
    });
    return line;
  }

  /* --- the search language (as `dailypapers search`) --- */

  var FIELDS = {
    ti: "_title",
    au: "_authors",
    abs: "_abstract",
    co: "_comment",
    jr: "_journal",
    all: "_text",
  };
  var OPERATORS = { AND: true, OR: true, ANDNOT: true };
  var TOKEN = /\s*(?:(\()|(\))|(?:([A-Za-z]+):)?(?:"([^"]*)"?|([^\s()"]+)))/g;

  function isField(name) {
    return Object.prototype.hasOwnProperty.call(FIELDS, name) || name === "cat" || name === "id";
  }

  function tokenize(query) {
    var tokens = [];
    TOKEN.lastIndex = 0;
    var match = TOKEN.exec(query);
    while (match && match[0]) {
      if (match[1] || match[2]) {
        tokens.push({ type: match[1] ? "(" : ")" });
      } else {
        var field = match[3] && isField(match[3].toLowerCase()) ? match[3].toLowerCase() : "all";
        var raw = match[4] !== undefined ? match[4] : match[5];
        if (match[3] && field === "all" && match[3].toLowerCase() !== "all") {
          raw = match[3] + ":" + raw; /* not a field: search the text as written */
        }
        if (match[4] === undefined && !match[3] && OPERATORS[raw]) {
          tokens.push({ type: "op", op: raw });
        } else if (fold(raw).trim()) {
          tokens.push({ type: "term", field: field, text: fold(raw).trim() });
        }
      }
      match = TOKEN.exec(query);
    }
    return tokens;
  }

  /* The syntax tree of `query`, or null for an empty one; throws on bad syntax. */
  function parseQuery(query) {
    var tokens = tokenize(query);
    var at = 0;
    function peek() {
      return tokens[at];
    }
    function primary() {
      var token = tokens[at++];
      if (!token || token.type === ")" || token.type === "op") {
        throw new Error("expected a term");
      }
      if (token.type === "term") {
        return token;
      }
      var node = anyOf();
      if (!peek() || peek().type !== ")") {
        throw new Error("unbalanced parenthesis");
      }
      at++;
      return node;
    }
    function allOf() {
      var node = primary();
      while (peek() && peek().type !== ")" && peek().op !== "OR") {
        var op = peek().type === "op" ? tokens[at++].op : "AND";
        var right = primary();
        node = op === "ANDNOT" ? { and: [node, { not: right }] } : { and: [node, right] };
      }
      return node;
    }
    function anyOf() {
      var node = allOf();
      while (peek() && peek().op === "OR") {
        at++;
        node = { or: [node, allOf()] };
      }
      return node;
    }
    if (!tokens.length) {
      return null;
    }
    var tree = anyOf();
    if (at < tokens.length) {
      throw new Error("unbalanced parenthesis");
    }
    return tree;
  }

  /* Plain words when the syntax is broken: typing "(reward" still finds something. */
  function readQuery(query) {
    try {
      return parseQuery(query);
    } catch (error) {
      return parseQuery(query.replace(/[()"]/g, " ").replace(/\b(AND|OR|ANDNOT)\b/g, " "));
    }
  }

  function termMatches(term, paper) {
    if (term.field === "cat") {
      return paper.categories.some(function (category) {
        var folded = fold(category);
        return folded === term.text || folded.indexOf(term.text + ".") === 0;
      });
    }
    if (term.field === "id") {
      return paper.id === term.text || paper.id + "v" + paper.version === term.text;
    }
    return paper[FIELDS[term.field]].indexOf(term.text) !== -1;
  }

  function matches(node, paper) {
    if (node.and) {
      return matches(node.and[0], paper) && matches(node.and[1], paper);
    }
    if (node.or) {
      return matches(node.or[0], paper) || matches(node.or[1], paper);
    }
    if (node.not) {
      return !matches(node.not, paper);
    }
    return termMatches(node, paper);
  }

  /* The terms that count for a match (not under ANDNOT), for ranking and marks. */
  function positive(node, found) {
    if (!node) {
      return found;
    }
    if (node.and || node.or) {
      (node.and || node.or).forEach(function (child) {
        positive(child, found);
      });
    } else if (!node.not) {
      found.push(node);
    }
    return found;
  }

  var tree = null;
  var counted = [];

  function score(paper) {
    if (tree && !matches(tree, paper)) {
      return -1;
    }
    var total = 0;
    counted.forEach(function (term) {
      if (termMatches(term, paper)) {
        total += 1;
        if (paper._title.indexOf(term.text) !== -1) {
          total += 4;
        }
        if (paper._authors.indexOf(term.text) !== -1) {
          total += 2;
        }
      }
    });
    return total;
  }

  function value(field) {
    return field ? field.value : "";
  }

  /* The library's score (the "Relevance" sort); unranked papers go last. */
  function rank(paper) {
    return typeof paper.score === "number" ? paper.score : -1e9;
  }

  function filtered() {
    var topic = value(fields.topic);
    var category = value(fields.cat);
    var from = value(fields.from);
    var to = value(fields.to);
    var onlyNew = fields.fresh && fields.fresh.checked;
    var found = [];
    papers.forEach(function (paper) {
      if (onlyId && paper.id !== onlyId) {
        return;
      }
      if (topic && paper.topics.indexOf(topic) === -1) {
        return;
      }
      if (category && paper.categories.indexOf(category) === -1) {
        return;
      }
      if ((from && paper.updated < from) || (to && paper.updated > to)) {
        return;
      }
      if (onlyNew && !paper["new"]) {
        return;
      }
      var points = score(paper);
      if (points >= 0) {
        found.push([points, paper]);
      }
    });
    var byScore = value(fields.sort) === "score";
    found.sort(function (a, b) {
      var first = byScore ? rank(b[1]) - rank(a[1]) : 0;
      return first || b[0] - a[0] || a[1]._order - b[1]._order;
    });
    return found.map(function (pair) {
      return pair[1];
    });
  }

  function showMore() {
    var end = Math.min(current.length, shown + pageSize);
    var fragment = document.createDocumentFragment();
    for (var i = shown; i < end; i++) {
      fragment.appendChild(card(current[i]));
    }
    list.appendChild(fragment);
    shown = end;
    more.hidden = shown >= current.length;
  }

  function describe() {
    var total = papers.length;
    var noun = total === 1 ? " paper" : " papers";
    if (current.length === total) {
      return total + noun;
    }
    if (!current.length) {
      return "No paper matches (of " + total + ").";
    }
    return current.length + " of " + total + noun;
  }

  function stateHash() {
    var params = new URLSearchParams();
    ["q", "topic", "cat", "from", "to", "sort"].forEach(function (name) {
      var text = value(fields[name]).trim();
      if (text) {
        params.set(name, text);
      }
    });
    if (fields.fresh && fields.fresh.checked) {
      params.set("new", "1");
    }
    if (onlyId) {
      params.set("id", onlyId);
    }
    var text = params.toString();
    return text ? "#" + text : "";
  }

  function apply(remember) {
    tree = readQuery(value(fields.q));
    counted = positive(tree, []).filter(function (term) {
      return term.field !== "cat" && term.field !== "id";
    });
    terms = counted.map(function (term) {
      return term.text;
    });
    current = filtered();
    shown = 0;
    list.replaceChildren();
    showMore();
    countLine.textContent = describe();
    if (remember) {
      var hash = stateHash();
      if (hash !== location.hash && !(hash === "" && location.hash === "#")) {
        location.replace(hash || "#");
      }
    }
  }

  function setSelect(select, wanted) {
    if (!select) {
      return;
    }
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === wanted;
    });
    select.value = known ? wanted : "";
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (fields.q) {
      fields.q.value = params.get("q") || "";
    }
    setSelect(fields.topic, params.get("topic") || "");
    setSelect(fields.cat, params.get("cat") || "");
    setSelect(fields.sort, params.get("sort") || "");
    ["from", "to"].forEach(function (name) {
      var text = params.get(name) || "";
      if (fields[name]) {
        fields[name].value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : "";
      }
    });
    if (fields.fresh) {
      fields.fresh.checked = params.get("new") === "1";
    }
    onlyId = params.get("id") || "";
  }

  function fillOptions() {
    if (fields.topic) {
      topics.forEach(function (topic) {
        fields.topic.appendChild(new Option(topic.name + " (" + topic.count + ")", topic.slug));
      });
    }
    var counts = {};
    papers.forEach(function (paper) {
      paper.categories.forEach(function (category) {
        counts[category] = (counts[category] || 0) + 1;
      });
    });
    Object.keys(counts)
      .sort(function (a, b) {
        return counts[b] - counts[a] || (a < b ? -1 : 1);
      })
      .forEach(function (category) {
        fields.cat.appendChild(new Option(category + " (" + counts[category] + ")", category));
      });
    var dates = papers.map(function (paper) {
      return paper.updated;
    });
    if (dates.length) {
      var first = dates.reduce(function (a, b) {
        return a < b ? a : b;
      });
      var last = dates.reduce(function (a, b) {
        return a > b ? a : b;
      });
      [fields.from, fields.to].forEach(function (field) {
        field.min = first;
        field.max = last;
      });
    }
  }

  form.hidden = false; /* the controls only work with this script */
  fillOptions();
  readHash();
  apply(false);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply(true);
  });
  form.addEventListener("reset", function () {
    onlyId = "";
    window.setTimeout(function () {
      apply(true);
    }, 0);
  });
  fields.q.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      onlyId = "";
      apply(true);
    }, 120);
  });
  [fields.topic, fields.cat, fields.from, fields.to, fields.fresh, fields.sort].forEach(function (
    field
  ) {
    if (field) {
      field.addEventListener("change", function () {
        apply(true);
      });
    }
  });
  more.addEventListener("click", showMore);
  window.addEventListener("hashchange", function () {
    if (location.hash.replace(/^#$/, "") !== stateHash()) {
      readHash();
      apply(false);
    }
  });
})();
