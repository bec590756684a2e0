// Starts GraphiQL on the page cardcrm serves at GET /graphql (development only).
// Every request needs a bearer token: put it in the Headers tab as
// {"Authorization": "Bearer <token>"}; the headers are kept in this browser's storage.
(function () {
  "use strict";
  var endpoint = document.body.dataset.endpoint || "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + endpoint });
  var root = ReactDOM.createRoot(document.getElementById("explorer"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultHeaders: '{\n  "Authorization": "Bearer <paste a token from /auth/login or cardcrm token issue>"\n}',
      defaultEditorToolsVisibility: "headers",
      defaultQuery:
        "# Put your token in the Headers tab below, then run:\n" +
        "query {\n  viewer { username role }\n  customers(first: 3) {\n" +
        "    totalCount\n    edges { node { id name phone tier { code } } }\n  }\n}\n",
    })
  );
})();
