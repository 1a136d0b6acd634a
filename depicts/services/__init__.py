"""Depicts edits from approval to Commons and back, one module per workflow.

``approval`` (the review grid's yes and no, contradicted statements), ``sending`` (the send
page's queue and the writer), ``undo`` (a sent batch taken back), ``resume`` (what no worker
will pick up by itself), ``reverts`` (statements someone else removed on Commons), ``cancel``
(edits that will not leave); ``common`` holds what they share. Reads shaped for a page are in
``depicts.selectors``.
"""
