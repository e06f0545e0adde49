# Protocol Buffers - Google's data interchange format
# Copyright 2008 Google Inc.  All rights reserved.
#
# Use of this source code is governed by a BSD-style
# license that can be found in the LICENSE file or at
# https://developers.google.com/open-source/licenses/bsd
"""Builds descriptors, message classes and services for generated _pb2.py.

This file is only called in python generated _pb2.py files. It builds
descriptors, message classes and services that users can directly use
in generated code.
"""

__author__ = 'jieluo@google.com (Jie Luo)'

from google.protobuf import message as _message
from google.protobuf import reflection as _reflection
from google.protobuf import symbol_database as _symbol_database
from google.protobuf.internal import enum_type_wrapper
from google.protobuf.internal import python_message

_sym_db = _symbol_database.Default()


def _BuildNestedDescriptors(module, msg_des, prefix):
  for name, nested_msg in msg_des.nested_types_by_name.items():
    module_name = prefix + name.upper()
    module[module_name] = nested_msg
    _BuildNestedDescriptors(module, nested_msg, module_name + '_')
  for enum_des in msg_des.enum_types:
    module[prefix + enum_des.name.upper()] = enum_des


def BuildMessageAndEnumDescriptors(file_des, module):
  """Builds message and enum descriptors.

  Args:
    file_des: FileDescriptor of the .proto file
    module: Generated _pb2 module
  """
  for name, msg_des in file_des.message_types_by_name.items():
    module_name = '_' + name.upper()
    module[module_name] = msg_des
    _BuildNestedDescriptors(module, msg_des, module_name + '_')


def _BuildMessage(module_name, msg_des, prefix):
  create_dict = {}
  for name, nested_msg in msg_des.nested_types_by_name.items():
    create_dict[name] = _BuildMessage(
        module_name, nested_msg, prefix + msg_des.name + '.'
    )
  create_dict['DESCRIPTOR'] = msg_des
  create_dict['__module__'] = module_name
  create_dict['__qualname__'] = prefix + msg_des.name
  message_class = _reflection.GeneratedProtocolMessageType(
      msg_des.name, (_message.Message,), create_dict
  )
  _sym_db.RegisterMessage(message_class)
  return message_class


def BuildTopDescriptorsAndMessages(file_des, module_name, module):
  """Builds top level descriptors and message classes.

  Args:
    file_des: FileDescriptor of the .proto file
    module_name: str, the name of generated _pb2 module
    module: Generated _pb2 module
  """

  # top level enums
  for name, enum_des in file_des.enum_types_by_name.items():
    module['_' + name.upper()] = enum_des
    module[name] = enum_type_wrapper.EnumTypeWrapper(enum_des)
    for enum_value in enum_des.values:
      module[enum_value.name] = enum_value.number

  # top level extensions
  for name, extension_des in file_des.extensions_by_name.items():
    module[name.upper() + '_FIELD_NUMBER'] = extension_des.number
    module[name] = extension_des

  # services
  for name, service in file_des.services_by_name.items():
    module['_' + name.upper()] = service

  # Build messages.
  for name, msg_des in file_des.message_types_by_name.items():
    module[name] = _BuildMessage(module_name, msg_des, '')


def AddHelpersToExtensions(file_des):
  """no-op to keep old generated code work with new runtime.

  Args:
    file_des: FileDescriptor of the .proto file
  """
  # TODO: Remove this on-op
  return


def BuildServices(file_des, module_name, module):
  """Builds services classes and services stub class.

  Args:
    file_des: FileDescriptor of the .proto file
    module_name: str, the name of generated _pb2 module
    module: Generated _pb2 module
  """
  # pylint: disable=g-import-not-at-top
  from google.protobuf import service_reflection
  # pylint: enable=g-import-not-at-top
  for name, service in file_des.services_by_name.items():
    module[name] = service_reflection.GeneratedServiceType(
        name, (), dict(DESCRIPTOR=service, __module__=module_name)
    )
    stub_name = name + '_Stub'
    module[stub_name] = service_reflection.GeneratedServiceStubType(
        stub_name,
        (module[name],),
        dict(DESCRIPTOR=service, __module__=module_name),
    )
