# Read by `flask` (python-dotenv): the CLI finds the app without --app.
FLASK_APP=practice_app
