"""The composer's side of the app: submit a prompt, batches, parameters, profile,
attachments and focus. Drafts are checked and run by the service (`imgtui.service`)."""

from __future__ import annotations

from textual import events, on

from imgtui.api.request import RequestError
from imgtui.batch import BatchItem
from imgtui.draft import Attachments, Draft, Params, available_profiles
from imgtui.tasks import Task
from imgtui.tui.controllers.tasks import TaskActions
from imgtui.tui.widgets.composer import PromptArea
from imgtui.tui.widgets.param_bar import ParamBar

__all__ = ["Composing"]


class Composing(TaskActions):
    """Submitting, parameters, profile, attachments (a mixin of the App)."""

    @on(PromptArea.Submitted)
    def _submitted(self, event: PromptArea.Submitted) -> None:
        if self.submit(event.text) is None and not self.composer.text:
            self.composer.set_text(event.text)  # refused: the prompt comes back to be fixed

    def submit(self, text: str) -> Task | None:
        """Start a task from the composer. On a bad field: a toast, and the composer keeps everything."""
        if not text.strip():
            self.notify("Type a prompt first.", title="Nothing to send", severity="warning")
            return None
        draft = Draft.from_choice(text, self.params, self.composer.attachments)
        try:
            draft.check()  # every field, before anything is sent
        except RequestError as exc:
            self.notify(
                exc.message, title=f"Can't send: {exc.field}", severity="error", markup=False
            )
            return None

        def sent() -> None:  # the prompt area emptied itself on Enter; after a question
            if self.composer.text == text:  # the prompt came back: it is taken now
                self.composer.set_text("")
            self.composer.clear_attachments()

        return self.send(draft, sent)

    # -- batches --------------------------------------------------------------------------

    def action_batch(self) -> None:
        from imgtui.tui.screens.batch import BatchScreen

        def launch(items: list[BatchItem] | None) -> None:
            if items:
                self.launch_batch(items)

        self.push_screen(BatchScreen(self.estimate_batch), launch)

    def estimate_batch(self, items: list[BatchItem]) -> str:
        return self.service.estimate_batch(items, self.params)

    def launch_batch(self, items: list[BatchItem]) -> list[Task]:
        """Every line as its own task, queued in order (nothing starts if a line is bad)."""
        try:
            drafts = self.service.batch_drafts(items, self.params)
        except RequestError as exc:
            self.notify(
                exc.message, title=f"Batch not run: {exc.field}", severity="error", markup=False
            )
            return []
        if not all(self.service.may_spend(name) for name in {d.profile.name for d in drafts}):
            return []
        warnings = list(
            dict.fromkeys(
                w
                for d in drafts
                if (w := self.service.shutdown_warning(d.profile, d.params.model)) is not None
            )
        )

        def run_all() -> list[Task]:
            tasks = [self.launch(draft) for draft in drafts]
            self.notify(f"{len(tasks)} tasks queued", title="Batch", markup=False)
            return tasks

        if not warnings:
            return run_all()

        self.ask_shutdown(warnings, f"Run the {len(drafts)} tasks of this batch", run_all)
        return []

    # -- parameters and profile -----------------------------------------------------------

    def action_edit_params(self) -> None:
        from imgtui.tui.screens.params import ParamsScreen

        def done(params: Params | None) -> None:
            if params is not None:
                if params.profile.name != self.params.profile.name:
                    self.service.activate(params.profile.name)  # as Ctrl+O does
                self.set_params(params)

        self.push_screen(
            ParamsScreen(
                self.params,
                available_profiles(self.config),
                self.service.model_lists,
                demo_base_url=self.service.runner.demo_base_url,
                load=self.service.params_for,  # a profile picked here: its kept choice
            ),
            done,
        )

    @on(ParamBar.Clicked)
    def _param_bar_clicked(self) -> None:
        self.action_edit_params()

    def action_pick_profile(self) -> None:
        from imgtui.tui.screens.settings import ProfilePicker

        def done(name: str | None) -> None:
            if name:
                self.use_profile(name)

        self.push_screen(
            ProfilePicker(available_profiles(self.config), self.params.profile.name), done
        )

    def use_profile(self, name: str, announce: bool = True) -> None:
        """The composer on profile `name` (saved as the active one)."""
        params = self.service.use_profile(name)
        if params is None:
            return
        self.set_params(params)
        if announce:
            self.notify(f"{name} · {params.profile.model}", title="Profile", markup=False)

    def action_open_settings(self) -> None:
        from imgtui.config import save
        from imgtui.tui.screens.settings import SettingsScreen

        def done(active: str | None) -> None:
            if active:  # the screen saved: refresh what the composer uses
                self.use_profile(active, announce=False)

        self.push_screen(
            SettingsScreen(self.config, save=save, demo_base_url=self.service.runner.demo_base_url),
            done,
        )

    # -- attachments and focus ------------------------------------------------------------

    def action_attach(self) -> None:
        from imgtui.tui.screens.attach import AttachScreen

        def done(attachments: Attachments | None) -> None:
            if attachments is not None:
                self.composer.set_attachments(attachments)
            self.composer.area.focus()

        self.push_screen(AttachScreen(self.composer.attachments), done)

    def action_clear_attachments(self) -> None:
        self.composer.set_attachments(Attachments())

    def action_focus_prompt(self) -> None:
        self.screen.set_focus(self.composer.area)  # now, not later: the next key goes there

    def action_type_in_prompt(self, text: str) -> None:
        """Text typed while the task list had focus: into the composer, which takes focus."""
        area = self.composer.area
        self.screen.set_focus(area)
        area.insert(text)

    def on_paste(self, event: events.Paste) -> None:
        """Pasted (or a file dropped) while the task list had focus: to the composer."""
        if self.screen is self.screen_stack[0]:
            self.composer.take_paste(event.text)

    def action_focus_tasks(self) -> None:
        self.screen.set_focus(self.task_list)
