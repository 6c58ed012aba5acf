"""The support bundle (`webrix support-bundle`, the console's button) and what it needs recorded
while the service runs: recent log warnings and errors, and the SCIM clients seen."""
