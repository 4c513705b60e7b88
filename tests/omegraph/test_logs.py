import logging
import logging.config

from omegraph.logs import DropQueryStrings, log_config


def test_access_log_lines_lose_their_query_strings() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", '/graphql?query=mutation{login(password:"hunter2")}', "1.1",
         405), None)
    assert DropQueryStrings().filter(record)
    assert "hunter2" not in record.getMessage()
    assert record.getMessage() == '127.0.0.1:5000 - "GET /graphql?… HTTP/1.1" 405'


def test_log_config_wires_the_filter_and_level() -> None:
    config = log_config("WARNING")
    assert config["handlers"]["access"]["filters"] == ["drop_query_strings"]
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
    logging.config.dictConfig(config)  # valid for the logging module
