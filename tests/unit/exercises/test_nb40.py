"""The checks of notebooks/40_deploy_local_endpoint.ipynb's exercises refuse the shortcuts."""

from __future__ import annotations

import pytest

import exercises
from tests.unit.exercises.tiny_models import tiny_digits


def _refused(exercise_id, answer, hint, **context):
    feedback = exercises.check(exercise_id, answer, **context)
    assert not feedback and hint in feedback.message, feedback.message


def _reply(status, message):
    from helpers.serve import Reply

    return Reply(status, {"message": message}, {}, 1.0)


OVER = "inputs['image']: batch of 9 is over the limit of 8 (MAX_BATCH); send at most 8 examples per request."


def test_40_1_accepts_the_endpoints_413_for_9_over_8():
    assert exercises.check("40.1", _reply(413, OVER))


def test_40_1_refuses_a_200_from_an_endpoint_without_the_limit():
    from helpers.serve import Reply

    _refused("40.1", Reply(200, {"predictions": [1] * 9}, {}, 1.0), "answered 200")


def test_40_1_refuses_a_400_of_a_malformed_batch():
    _refused("40.1", _reply(400, "bad"), "not 413")


def test_40_1_refuses_another_413_whose_numbers_only_contain_8_and_9():
    _refused("40.1", _reply(413, "The body is 1,898 bytes, over the limit of 1,000 (MAX_BODY_BYTES)."), "not the endpoint's answer")
    _refused("40.1", _reply(413, "inputs['image']: batch of 19 is over the limit of 18 (MAX_BATCH)"), "not the endpoint's answer")


def test_40_1_refuses_a_bare_status_code():
    _refused("40.1", "413", "the reply")


NAIVE = {"a good request": (200, ""), "GET instead of POST": (500, ""), "not JSON": (500, ""), "a NaN pixel": (200, ""),
         "a batch over max_batch": (200, ""), "wrong input name": (500, ""), "already refused": (405, "")}
LEFT = {"GET instead of POST", "not JSON", "a batch over max_batch", "wrong input name"}


def test_40_2_accepts_the_rows_the_script_did_not_answer_with_a_4xx():
    assert exercises.check("40.2", LEFT, naive_answers=NAIVE)


@pytest.mark.parametrize(("answer", "hint"), [(LEFT - {"not JSON"}, "1 row(s) missing"),
                                              (LEFT | {"already refused"}, "1 too many"),
                                              (LEFT | {"a NaN pixel"}, "already refuses NaN"),
                                              (set(NAIVE), "a good request needs no check"),
                                              ({"no such row"}, "not rows of the table"),
                                              ("not JSON", "a set of request names")])
def test_40_2_refuses_a_guess_every_row_and_a_string(answer, hint):
    _refused("40.2", answer, hint, naive_answers=NAIVE)


def test_40_3_accepts_the_start_error_naming_an_empty_folder(tmp_path):
    from helpers.serve import EndpointError

    empty = tmp_path / "empty"
    empty.mkdir()
    log = f"No *.onnx file in the model folder '{empty}' (AZUREML_MODEL_DIR); it holds nothing. Put the model file there."
    assert exercises.check("40.3", EndpointError(f"The inference server exited with code 3. Log:\n{log}"))


def test_40_3_refuses_an_error_written_by_hand_without_the_scripts_message(tmp_path):
    from helpers.serve import EndpointError

    empty = tmp_path / "empty"
    empty.mkdir()
    _refused("40.3", EndpointError(f"server failed for {empty}"), "scoring script's own message")


def test_40_3_refuses_a_folder_that_holds_a_model(tmp_path):
    from helpers.serve import EndpointError

    folder = tiny_digits(tmp_path)[0].parent
    _refused("40.3", EndpointError(f"No *.onnx file in the model folder '{folder}' (AZUREML_MODEL_DIR)"),
             "no empty model folder")


def test_40_3_refuses_another_exception_and_a_string(tmp_path):
    _refused("40.3", FileNotFoundError(str(tmp_path)), "that is a FileNotFoundError")
    _refused("40.3", "error", "exception itself")
