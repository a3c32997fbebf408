"""The import pages under /imports/: upload a file, map its columns, preview, import."""

from django.urls import path

from billguard.web.pages.imports import views

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/uploads/<str:token>/", views.import_upload, name="import-upload"),
    path("imports/uploads/<str:token>/mapping/", views.import_mapping, name="import-mapping"),
    path("imports/uploads/<str:token>/import/", views.import_commit, name="import-commit"),
    path("imports/uploads/<str:token>/discard/", views.import_discard, name="import-discard"),
    path("imports/runs/<int:run_id>/", views.import_run, name="import-run"),
    path("imports/history/<int:import_id>/", views.history_import, name="history-import"),
]
