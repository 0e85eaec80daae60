"""struct_info: the model described once, each Struct as msgspec describes it alone."""

from __future__ import annotations

import msgspec

from fastpod.manifest.not_honoured import model_fields
from fastpod.manifest.struct_info import struct_info
from fastpod.model import Pod


def test_every_struct_of_the_pod_is_described_as_msgspec_describes_it_alone() -> None:
    structs: set[type[msgspec.Struct]] = {Pod}
    structs.update(field.struct for field in model_fields() if field.struct is not None)
    assert len(structs) > 40  # the nested Structs were found
    for struct in structs:
        assert struct_info(struct) == msgspec.inspect.type_info(struct), struct.__name__


def test_a_struct_outside_the_model_is_described_too() -> None:
    class Probe(msgspec.Struct):
        path: list[str]

    assert struct_info(Probe) == msgspec.inspect.type_info(Probe)
