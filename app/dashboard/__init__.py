"""The dashboard: the sales head's and the managers' pages, served by the API's own process.

Read ``app/dashboard/router.py`` first: it says how a page is added.
"""
