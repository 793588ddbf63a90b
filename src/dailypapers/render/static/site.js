/* dailypapers site: lists, searches and filters the papers embedded in the page.
 *
 * Safety rule: a paper's text is only ever written with textContent (or as
 * text nodes), never as markup, and a URL is only used when it is http(s).
 * State lives in the URL hash (#q=...&topic=...&cat=...&from=...&to=...),
 * so a search can be bookmarked and shared; it works from file:// too.
 */
(function () {
  "use strict";

  var source = document.getElementById("papers-data");
  var list = document.getElementById("results");
  if (!source || !list) {
    return;
  }
  // The page names its papers by id; every paper is in the one shared data file.
  var page = JSON.parse(source.textContent);
  var shared = window.DAILYPAPERS_DATA || { topics: [], papers: [] };
  var byId = {};
  shared.papers.forEach(function (paper) {
    byId[paper.id] = paper;
  });
  var data = {
    scope: page.scope,
    topics: shared.topics,
    papers: page.ids
      .map(function (id) {
        return byId[id];
      })
      .filter(Boolean),
  };
  var papers = data.papers;
  var scope = data.scope;
  var topicNames = {};
  data.topics.forEach(function (topic) {
    topicNames[topic.slug] = topic.name;
  });
  fillNav();

  function fillNav() {
    // A topic page carries only its own link; the other topics come from the shared file.
    var nav = document.getElementById("topic-nav");
    if (!nav || !scope) {
      return;
    }
    data.topics.forEach(function (topic) {
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
    paper._authors = fold(paper.authors.join(", "));
    paper._text = paper._title + "\n" + fold(paper.abstract) + "\n" + paper._authors;
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
    var item = element("li", "paper");
    item.id = "paper-" + paper.id;
    var heading = element("h2");
    var title = anchor(arxivUrl("abs", paper));
    highlight(title, paper.title);
    heading.appendChild(title);
    item.appendChild(heading);

    var meta = element("p", "meta");
    var time = element("time", null, paper.updated);
    time.dateTime = paper.updated;
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" "));
    if (paper.revised) {
      var revised = "revised v" + paper.version + " (first " + paper.published + ")";
      meta.appendChild(element("span", "badge revised", revised));
    }
    if (paper.venue) {
      meta.appendChild(element("span", "badge venue", paper.venue));
    }
    paper.categories.forEach(function (category) {
      meta.appendChild(element("span", "badge", category));
    });
    if (!scope) {
      paper.topics.forEach(function (slug) {
        meta.appendChild(element("span", "badge topic", topicNames[slug] || slug));
      });
    }
    item.appendChild(meta);

    var authors = element("p", "authors");
    highlight(authors, paper.authors.join(", "));
    item.appendChild(authors);
    if (paper.comment) {
      item.appendChild(element("p", "comment", "Comment: " + paper.comment));
    }
    if (paper.journal_ref) {
      item.appendChild(element("p", "comment", "Journal: " + paper.journal_ref));
    }
    var details = element("details");
    details.appendChild(element("summary", null, "Abstract"));
    var abstract = element("p");
    highlight(abstract, paper.abstract);
    details.appendChild(abstract);
    item.appendChild(details);

    var links = element("p", "links");
    links.appendChild(anchor(arxivUrl("abs", paper), "arXiv"));
    links.appendChild(anchor(arxivUrl("pdf", paper), "PDF"));
    paper.links.forEach(function (link) {
      if (safeUrl(link.url)) {
        links.appendChild(anchor(link.url, link.label));
      }
    });
    item.appendChild(links);
    return item;
  }

  function parseTerms(query) {
    var found = [];
    var pattern = /"([^"]+)"|(\S+)/g;
    var match = pattern.exec(query);
    while (match) {
      var term = fold((match[1] || match[2]).trim());
      if (term) {
        found.push(term);
      }
      match = pattern.exec(query);
    }
    return found;
  }

  function score(paper) {
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var term = terms[i];
      if (paper._text.indexOf(term) === -1) {
        return -1;
      }
      total += 1;
      if (paper._title.indexOf(term) !== -1) {
        total += 4;
      }
      if (paper._authors.indexOf(term) !== -1) {
        total += 2;
      }
    }
    return total;
  }

  function value(field) {
    return field ? field.value : "";
  }

  function filtered() {
    var topic = value(fields.topic);
    var category = value(fields.cat);
    var from = value(fields.from);
    var to = value(fields.to);
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
      var points = score(paper);
      if (points >= 0) {
        found.push([points, paper]);
      }
    });
    found.sort(function (a, b) {
      return b[0] - a[0] || a[1]._order - b[1]._order;
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
    ["q", "topic", "cat", "from", "to"].forEach(function (name) {
      var text = value(fields[name]).trim();
      if (text) {
        params.set(name, text);
      }
    });
    if (onlyId) {
      params.set("id", onlyId);
    }
    var text = params.toString();
    return text ? "#" + text : "";
  }

  function apply(remember) {
    terms = parseTerms(value(fields.q));
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
    ["from", "to"].forEach(function (name) {
      var text = params.get(name) || "";
      if (fields[name]) {
        fields[name].value = /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : "";
      }
    });
    onlyId = params.get("id") || "";
  }

  function fillOptions() {
    if (fields.topic) {
      data.topics.forEach(function (topic) {
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
  [fields.topic, fields.cat, fields.from, fields.to].forEach(function (field) {
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
