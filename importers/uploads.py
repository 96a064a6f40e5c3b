"""Refuse an over-size upload while it streams in, instead of after it has been written to disk (before that, the
route's geo_assets.uploads.UploadRule has refused a user without the right and a declared body too large)."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts the bytes of each uploaded file and stops reading the request once a
    file passes the route's limit (request.upload_max_bytes, set by geo_assets.uploads; else IMPORT_MAX_UPLOAD_BYTES);
    the view then tells the user (request.upload_too_large)."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > getattr(self.request, "upload_max_bytes", settings.IMPORT_MAX_UPLOAD_BYTES):
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
