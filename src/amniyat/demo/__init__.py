"""The demo: both programmes built through each app's services, with their accounts. It sits
above every app; no app imports it."""
