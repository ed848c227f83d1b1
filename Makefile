# Thin aliases for tasks.py, the project's single entry script.
.PHONY: demo test
demo:
	python3 tasks.py demo
test:
	python3 tasks.py test
