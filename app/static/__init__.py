"""Static files served at /static (packaged with the app)."""
