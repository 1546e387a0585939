"""The people's pages: login, the page framework (templates, static files, translations)
and the session that ties a browser to a person. Pages of their own (the wallboard, the
desk) add routers that use `crm.web.auth.page_user` and `crm.web.templates.render`."""
