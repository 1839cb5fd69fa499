"""The app's controllers: thin Textual mixins the App is made of, one concern each.

`base` declares what they share (the task service, the main screen's widgets); `tasks`
turns task events and task actions into cards, screens and toasts; `composing` is the
composer's side (submit, parameters, profile, attachments, batches); `history` loads,
finds, imports and exports history. The work itself is the core's (`imgtui.service`): a
controller asks the service and shows the answer.
"""
